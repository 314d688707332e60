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


def _common_kwargs(opset: int, options: Dict[str, Any], names: Dict[str, Any]) -> Dict[str, Any]:
    kwargs = {"input_names": names["inputs"], "output_names": names["outputs"], "opset_version": opset}
    if options.get("dynamic_axes"):
        # the case's declared axes (dynamic_plan), or, where it declares none, dim 0 of every input and output
        kwargs["dynamic_axes"] = names.get("dynamic_axes") or {name: {0: "batch"}
                                                               for name in names["inputs"] + names["outputs"]}
    for key in ("keep_initializers_as_inputs", "do_constant_folding"):
        if options.get(key) is not None:
            kwargs[key] = options[key]
    return kwargs


class DynamicError(ValueError):
    """A case's dynamic declaration does not fit its inputs (an axis beyond a tensor's dimensions, a name that is
    not one of forward's parameters): the case's bug, said when it builds."""


def _tensor_axes(where: str, ndim: Any, axes: Dict[int, str]) -> Dict[int, str]:
    if not isinstance(ndim, int) or isinstance(ndim, bool):
        kind = "None" if ndim is None else "a Python number" if ndim == "number" else "not a tensor"
        raise DynamicError("%s is %s: it has no axes to declare dynamic" % (where, kind))
    for axis in axes:
        if axis >= ndim:
            raise DynamicError("%s has %d dimension(s): axis %d does not exist" % (where, ndim, axis))
    return dict(axes)


def _flat_count(layout: Any) -> int:
    """How many graph inputs an argument of this layout flattens to (outputs.flatten_inputs' order)."""
    if isinstance(layout, list):
        return sum(_flat_count(item) for item in layout)
    if isinstance(layout, dict):
        return sum(_flat_count(item) for item in layout.get("dict", []))
    return 0 if layout is None else 1


def _argument_plan(where: str, layout: Any, declared: Any, first: int, axes: Dict[str, Dict[int, str]]) -> Any:
    """The dynamic_shapes spec of one argument (None, {axis: name}, or a list of them), filling ``axes``
    (input name -> {axis: name}) for its flattened inputs from ``first`` on."""
    if declared is None:
        return None
    if isinstance(layout, list):
        items = declared if isinstance(declared, list) else [declared] * len(layout)
        if len(items) != len(layout):
            raise DynamicError("%s is a list of %d, declared for %d elements" % (where, len(layout), len(items)))
        spec, index = [], first
        for position, (item_layout, item) in enumerate(zip(layout, items)):
            spec.append(_argument_plan("%s[%d]" % (where, position), item_layout, item, index, axes))
            index += _flat_count(item_layout)
        return spec
    if isinstance(declared, list):
        raise DynamicError("%s is a single tensor, declared as a list of %d" % (where, len(declared)))
    axes["input_%d" % first] = _tensor_axes(where, layout, declared)
    return dict(declared)


def dynamic_plan(dynamic: Optional[Dict[Any, Any]], dynamic_outputs: Optional[Dict[int, Dict[int, str]]],
                 layout: List[Any], arg_names: List[str], output_ndims: List[int]) -> Dict[str, Any]:
    """A case's declared dynamic axes (Case.dynamic, by forward's argument position or name) for its inputs.

    ``layout``: per argument of forward, a tensor's ndim, None, "number", a list of layouts (a list or tuple
    argument) or {"dict": [layouts]}. Returns ``axes`` ({"input_0": {0: "batch"}, "output_0": ...}: TorchScript's
    dynamic_axes, by flattened names) and ``shapes`` (one spec per argument: dynamo's dynamic_shapes, names for
    torch.export.Dim). Pure, so both mappings are tested without torch."""
    resolved: Dict[int, Any] = {}
    for key, declared in (dynamic or {}).items():
        if isinstance(key, str):
            if key not in arg_names:
                raise DynamicError("Case.dynamic names %r, not a parameter of forward (%s)" % (key, ", ".join(arg_names)))
            key = arg_names.index(key)
        if key >= len(layout):
            raise DynamicError("Case.dynamic declares argument %d; forward is given %d" % (key, len(layout)))
        if key in resolved:
            raise DynamicError("Case.dynamic declares argument %d twice (by position and by name)" % key)
        resolved[key] = declared
    axes: Dict[str, Dict[int, str]] = {}
    shapes, first = [], 0
    for position, item in enumerate(layout):
        name = arg_names[position] if position < len(arg_names) else str(position)
        shapes.append(_argument_plan("argument %d (%s)" % (position, name), item, resolved.get(position), first, axes))
        first += _flat_count(item)
    for index, declared in sorted((dynamic_outputs or {}).items()):
        if index >= len(output_ndims):
            raise DynamicError("Case.dynamic_outputs declares output %d; the model has %d" % (index, len(output_ndims)))
        axes["output_%d" % index] = _tensor_axes("output %d" % index, output_ndims[index], declared)
    return {"axes": axes, "shapes": shapes}


def _dims(shapes: List[Any]) -> Tuple[List[str], Any]:
    """The ``torch.export.Dim`` definitions of a dynamic_shapes spec, and the spec as code naming them."""
    names: List[str] = []

    def code(spec: Any) -> Any:
        if isinstance(spec, list):
            return [code(item) for item in spec]
        if isinstance(spec, dict):
            for name in spec.values():
                if name not in names:
                    names.append(name)
            return {axis: Code("dim_" + _identifier(name)) for axis, name in spec.items()}
        return None
    spec = tuple(code(item) for item in shapes)
    lines, defined = [], set()
    for name in sorted(names, key=lambda n: "+" in n):  # a derived dim ("past+1") after its base
        base, _, more = name.partition("+")
        if base not in defined:
            lines.append("    dim_%s = torch.export.Dim(%r)" % (base, base))
            defined.add(base)
        if more:
            lines.append("    dim_%s = dim_%s + %s" % (_identifier(name), base, more))
    return lines, spec


def _identifier(name: str) -> str:
    """An axis name as a Python identifier: 'past+1' is dim_past_plus_1."""
    return name.replace("+", "_plus_")


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

    def source(self, opset: int, options: Dict[str, Any], names: Dict[str, Any], caps: Dict[str, Any],
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
        try:
            import torch.export
            torch_export = _parameters(torch.export.export)
        except (ImportError, AttributeError):
            torch_export = None
        lowest, highest = self.written_opsets(torch.__version__)
        return {"torch": torch.__version__, "api": api, "lowest_opset": lowest, "highest_opset": highest,
                "export_parameters": parameters, "torch_export_parameters": torch_export,
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
            if options.get("dynamic_axes") and names.get("dynamic_shapes") is not None \
                    and "dynamic_shapes" in caps.get("export_parameters", ()):  # torch >= 2.5: the declared axes
                del kwargs["dynamic_axes"]
                dims, kwargs["dynamic_shapes"] = _dims(names["dynamic_shapes"])
                lines.extend(dims)
            lines.append("    program = " + _call("torch.onnx.export", ["module", "inputs"], kwargs))
            save = {}
            if "keep_initializers_as_inputs" in caps["save_parameters"]:  # torch >= 2.5
                save["keep_initializers_as_inputs"] = bool(options.get("keep_initializers_as_inputs"))
            lines.append("    " + _call("program.save", ["path"], save))
        else:
            # torch 2.1 - 2.3: no opset choice (18), no names; dynamic_axes (declared or not) maps to
            # dynamic_shapes=True, as torch 2.4's export(dynamo=True) maps its dynamic_axes
            lines.append("    options = " + _call("torch.onnx.ExportOptions", [],
                                                  {"dynamic_shapes": bool(options.get("dynamic_axes"))}))
            lines.append("    program = torch.onnx.dynamo_export(module, *inputs, export_options=options)")
            lines.append("    program.save(path)")
        return "\n".join(lines) + "\n"


def torch_export_source(options: Dict[str, Any], names: Dict[str, Any], caps: Dict[str, Any]) -> Optional[str]:
    """``def torch_export(module, inputs, strict)``: torch.export alone, as the dynamo exporter's first step (with
    the case's declared Dims where this torch has them), so a failed dynamo export says whether torch.export
    already failed or the ONNX conversion did. None where this torch has no torch.export (before 2.1)."""
    parameters = caps.get("torch_export_parameters")
    if not parameters:
        return None
    lines = ["import torch", "import torch.export", "", "", "def torch_export(module, inputs, strict):"]
    spec = names.get("dynamic_shapes") if options.get("dynamic_axes") else None
    shapes = ""
    if spec is not None and "dynamic_shapes" in parameters:
        dims, code = _dims(spec)
        lines.extend(dims)
        shapes = ", dynamic_shapes=%r" % (code,)
    lines.append("    extra = {} if strict is None else {'strict': strict}")
    lines.append("    return torch.export.export(module, tuple(inputs)%s, **extra)" % shapes)
    return "\n".join(lines) + "\n"


def _torchscript_max_opset() -> int:
    """The highest opset the TorchScript exporter supports without warning."""
    try:
        from torch.onnx import _constants
        for name in ("ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", "ONNX_MAX_OPSET"):
            if hasattr(_constants, name):
                return int(getattr(_constants, name))
        if hasattr(_constants, "onnx_stable_opsets"):  # torch 1.12: the list moved here from symbolic_helper
            return int(max(_constants.onnx_stable_opsets))
    except ImportError:
        pass
    from torch.onnx import symbolic_helper  # torch 1.x
    return int(max(symbolic_helper._onnx_stable_opsets))
