"""The two ONNX exporters behind one call: ``export_model(exporter, module, inputs, path, ...)``.

``torchscript`` is ``torch.onnx.export`` with the TorchScript tracer (``dynamo=False`` where
the flag exists); ``dynamo`` is ``torch.onnx.export(dynamo=True)`` (torch >= 2.5) or
``torch.onnx.dynamo_export`` (2.1 - 2.4).
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional, Sequence

import torch



def _parameters(function: Any) -> Sequence[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def _export_parameters() -> Sequence[str]:
    return _parameters(torch.onnx.export)


def dynamo_api() -> Optional[str]:
    """Which dynamo entry point this torch has, or None."""
    if "dynamo" in _export_parameters():
        return "export(dynamo=True)"
    if hasattr(torch.onnx, "dynamo_export"):
        return "dynamo_export"
    return None


def _count_tensors(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, (list, tuple)):
        return sum(_count_tensors(v) for v in value)
    if isinstance(value, dict):
        return sum(_count_tensors(v) for v in value.values())
    return 0


def export_model(exporter: str, module: Any, inputs: Sequence[Any], path: str, opset: int,
                 options: Dict[str, Any], example_outputs: Any) -> None:
    """Write ``module`` traced on ``inputs`` to ``path``; raises whatever the exporter raises."""
    names = {"input_names": ["input_%d" % i for i in range(_count_tensors(inputs))],
             "output_names": ["output_%d" % i for i in range(_count_tensors(example_outputs))]}
    kwargs = dict(names, opset_version=opset)  # type: Dict[str, Any]
    if options.get("dynamic_axes"):
        kwargs["dynamic_axes"] = {name: {0: "batch"} for name in names["input_names"] + names["output_names"]}
    for key in ("keep_initializers_as_inputs", "do_constant_folding"):
        if options.get(key) is not None:
            kwargs[key] = options[key]
    accepted = _export_parameters()
    if exporter == "torchscript":
        if "dynamo" in accepted:
            kwargs["dynamo"] = False
        if "example_outputs" in accepted and isinstance(module, torch.jit.ScriptModule):
            kwargs["example_outputs"] = example_outputs  # torch < 1.10 needs them to export a script
        torch.onnx.export(module, tuple(inputs), path, **kwargs)
    elif exporter == "dynamo":
        api = dynamo_api()
        if api == "export(dynamo=True)":
            kwargs["dynamo"] = True
            # keep_initializers_as_inputs is honoured by dynamo; do_constant_folding is accepted and
            # ignored (its optimizer always folds), which the row's export options then document
            program = torch.onnx.export(module, tuple(inputs), **kwargs)
            save_kwargs = {}
            if "keep_initializers_as_inputs" in _parameters(program.save):  # torch >= 2.5
                save_kwargs["keep_initializers_as_inputs"] = bool(options.get("keep_initializers_as_inputs"))
            program.save(path, **save_kwargs)
        elif api == "dynamo_export":
            # torch 2.1-2.4: no opset choice (18), no names; dynamic_axes maps to dynamic_shapes=True
            export_options = torch.onnx.ExportOptions(dynamic_shapes=bool(options.get("dynamic_axes")))
            program = torch.onnx.dynamo_export(module, *inputs, export_options=export_options)
            program.save(path)
        else:
            raise RuntimeError("torch %s has no dynamo exporter" % torch.__version__)
    else:
        raise ValueError("unknown exporter %r" % exporter)


def skip_reason(exporter: str, opset: int, caps: Dict[str, Any]) -> Optional[str]:
    """Why this exporter cannot be asked for this opset here, or None."""
    if exporter == "dynamo":
        if not caps.get("dynamo"):
            return "torch %s has no dynamo exporter (it arrived in 2.1)" % torch.__version__
        return None
    top = caps["torchscript_max_opset"]
    if opset > top:
        return "opset %d is above the TorchScript exporter's maximum (%d) in torch %s" % (opset, top, torch.__version__)
    return None
