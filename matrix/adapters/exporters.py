"""The ONNX exporters: TorchScript (``torch.onnx.export``) and dynamo (``export(dynamo=True)`` or
``dynamo_export``), each as the code it runs.

``source()`` writes a ``def export_model(module, inputs, path)`` with every argument spelled
out as a literal; the worker compiles and calls exactly that, and the row keeps it, so the
reproduction runs the very call that produced the row.
"""
from __future__ import annotations

import inspect
import sys
from typing import Any, Dict, List, Optional, Tuple

from matrix.adapters import exporter


def _parameters(function: Any) -> List[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


class Code(str):
    """An argument written as code (a variable's name), not as a literal."""

    def __repr__(self) -> str:
        return str(self)


def _call(function: str, args: List[str], kwargs: Dict[str, Any]) -> str:
    """``function(arg, ..., key=literal, ...)``: every value as the literal it was."""
    parts = args + ["%s=%r" % (k, v) for k, v in kwargs.items()]
    return "%s(%s)" % (function, ", ".join(parts))


def _common_kwargs(opset: int, options: Dict[str, Any], names: Dict[str, List[str]]) -> Dict[str, Any]:
    kwargs = {"input_names": names["inputs"], "output_names": names["outputs"], "opset_version": opset}
    if options.get("dynamic_axes"):
        kwargs["dynamic_axes"] = {name: {0: "batch"} for name in names["inputs"] + names["outputs"]}
    for key in ("keep_initializers_as_inputs", "do_constant_folding"):
        if options.get(key) is not None:
            kwargs[key] = options[key]
    return kwargs


class Exporter(object):
    name = ""
    upstream = "pytorch/pytorch (torch.onnx)"  # where its bugs are filed (``bug CELL`` names it)
    # modules whose functions this exporter calls: the worker's clean slate watches them, so a case that
    # replaces one (a wrapper around torch.onnx.export) is seen and undone
    modules = ("torch.onnx", "torch.onnx.utils", "torch.jit")

    def reset(self) -> None:
        """In the worker, before each export and each case: forget what earlier exports left behind."""

    def probe(self) -> Dict[str, Any]:
        """In the worker: what this torch offers for this exporter (JSON-ready)."""
        raise NotImplementedError

    # The opsets it writes natively, where that is fewer than it accepts (--opsets all asks for these only)
    native_opsets: Optional[Tuple[int, ...]] = None

    def unavailable(self, opset: int, caps: Dict[str, Any]) -> Optional[str]:
        """Why this exporter cannot be asked for ``opset`` here, or None."""
        raise NotImplementedError

    def source(self, opset: int, options: Dict[str, Any], names: Dict[str, List[str]], caps: Dict[str, Any],
               scripted: bool) -> str:
        """The code of ``export_model(module, inputs, path)`` for this cell."""
        raise NotImplementedError


@exporter
class TorchScript(Exporter):
    """``torch.onnx.export`` with the TorchScript tracer (``dynamo=False`` where the flag exists)."""

    name = "torchscript"

    def probe(self) -> Dict[str, Any]:
        import torch
        return {"torch": torch.__version__, "max_opset": _torchscript_max_opset(),
                "parameters": _parameters(torch.onnx.export)}

    def unavailable(self, opset: int, caps: Dict[str, Any]) -> Optional[str]:
        if caps.get("missing"):
            return caps["missing"]
        top = caps["max_opset"]
        if opset > top:
            return "opset %d is above the TorchScript exporter's maximum (%d) in torch %s" % (opset, top, caps["torch"])
        return None

    def source(self, opset, options, names, caps, scripted):
        kwargs = _common_kwargs(opset, options, names)
        lines = ["import torch", "", "", "def export_model(module, inputs, path):"]
        if "dynamo" in caps["parameters"]:
            kwargs["dynamo"] = False
        if scripted and "example_outputs" in caps["parameters"]:
            # torch < 1.10 needs the outputs of a ScriptModule to export it
            lines.append("    example_outputs = module(*inputs)")
            kwargs["example_outputs"] = Code("example_outputs")
        lines.append("    " + _call("torch.onnx.export", ["module", "inputs", "path"], kwargs))
        return "\n".join(lines) + "\n"


@exporter
class Dynamo(Exporter):
    """``torch.onnx.export(dynamo=True)`` (torch >= 2.4) or ``torch.onnx.dynamo_export`` (2.1 - 2.3)."""

    name = "dynamo"
    upstream = "pytorch/pytorch (torch.onnx, dynamo) and microsoft/onnxscript (its torch_lib)"

    def reset(self) -> None:
        """Forget what dynamo compiled and cached for earlier exports: each export then depends on its own
        module only (torch 2.4's exporter fails on some modules depending on what it exported before)."""
        dynamo = sys.modules.get("torch._dynamo")
        if dynamo is not None and hasattr(dynamo, "reset"):
            dynamo.reset()

    def probe(self) -> Dict[str, Any]:
        import torch
        parameters = _parameters(torch.onnx.export)
        if "dynamo" in parameters:
            api = "export(dynamo=True)"
        elif hasattr(torch.onnx, "dynamo_export"):
            api = "dynamo_export"
        else:
            api = None
        program = getattr(torch.onnx, "ONNXProgram", None)
        lowest, highest = self.written_opsets(torch.__version__)
        return {"torch": torch.__version__, "api": api, "lowest_opset": lowest, "highest_opset": highest,
                "save_parameters": _parameters(program.save) if program is not None else []}

    # The opsets its files can have: a request outside them is ignored and the file is opset 18, so it is not a
    # cell of its own. Measured by exporting a Linear at each request: torch 2.1.2 to 2.6.0 write 18 whatever is
    # asked (results/: the rows of opsets 9, 11 and 18 ran byte-identical files); from 2.9 requests of 13 and up
    # are converted to (13 -> 13, 17 -> 17, 23 -> 23) while 7 to 12 still give 18.
    lowest_opset = 18
    native_opsets = (18,)  # torchlib's functions are written for opset 18; the rest is onnx's version converter

    @staticmethod
    def written_opsets(version):
        """(lowest, highest or None) of the opsets this torch's dynamo exporter writes when asked."""
        release = tuple(int(part) for part in version.split("+")[0].split(".")[:2] if part.isdigit())
        return (13, None) if release >= (2, 9) else (18, 18)

    def unavailable(self, opset, caps):
        if caps.get("missing"):
            return caps["missing"]
        if not caps.get("api"):
            return "torch %s has no dynamo exporter (it arrived in 2.1)" % caps["torch"]
        lowest = caps.get("lowest_opset", self.lowest_opset)  # older probes did not say: the one seen in every torch
        highest = caps.get("highest_opset")
        if opset < lowest or (highest is not None and opset > highest):
            written = ("opset %d whatever is requested" % lowest if lowest == highest else
                       "the opset requested from %d up, and opset 18 below it" % lowest)
            return "the dynamo exporter of torch %s writes %s; requested %d" % (caps["torch"].split("+")[0], written,
                                                                                opset)
        return None

    def source(self, opset, options, names, caps, scripted):
        lines = ["import torch", "", "", "def export_model(module, inputs, path):"]
        if caps["api"] == "export(dynamo=True)":
            # keep_initializers_as_inputs is honoured; do_constant_folding is accepted and ignored
            # (the dynamo optimizer always folds), which the row's export options then document
            kwargs = dict(_common_kwargs(opset, options, names), dynamo=True)
            lines.append("    program = " + _call("torch.onnx.export", ["module", "inputs"], kwargs))
            save = {}
            if "keep_initializers_as_inputs" in caps["save_parameters"]:  # torch >= 2.5
                save["keep_initializers_as_inputs"] = bool(options.get("keep_initializers_as_inputs"))
            lines.append("    " + _call("program.save", ["path"], save))
        else:
            # torch 2.1 - 2.3: no opset choice (18), no names; dynamic_axes maps to dynamic_shapes=True
            lines.append("    options = " + _call("torch.onnx.ExportOptions", [],
                                                  {"dynamic_shapes": bool(options.get("dynamic_axes"))}))
            lines.append("    program = torch.onnx.dynamo_export(module, *inputs, export_options=options)")
            lines.append("    program.save(path)")
        return "\n".join(lines) + "\n"


def _torchscript_max_opset() -> int:
    """The highest opset the TorchScript exporter supports without warning."""
    try:
        from torch.onnx import _constants
        for name in ("ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", "ONNX_MAX_OPSET"):
            if hasattr(_constants, name):
                return int(getattr(_constants, name))
    except ImportError:
        pass
    from torch.onnx import symbolic_helper  # torch 1.x
    return int(max(symbolic_helper._onnx_stable_opsets))
