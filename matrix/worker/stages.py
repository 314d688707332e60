"""The stages' own work, as plain functions: build, export, check, and load -> run -> compare -> batch.

``Pipeline`` calls them inside its stages (which map exceptions to statuses and cache what
they can); reproductions inline this module's source and call the very same functions, so
a reproduction builds, exports, runs and compares exactly as the worker did. Keep it
self-contained (numpy here, torch and onnx imported where used, ``outputs`` beside it) and
Python 3.7-safe.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, ContextManager, Dict, List, Optional, Tuple

import numpy

from matrix.worker.outputs import MAX_ERROR_CHARS, Mismatch, compare, flatten, flatten_inputs, fresh, rebatch, to_numpy

SEED = 0

_COMPILED: Dict[str, Dict[str, Any]] = {}


def compiled(source: str, filename: str) -> Dict[str, Any]:
    """The namespace an adapter's code defines (compiled once per distinct source)."""
    if source not in _COMPILED:
        namespace: Dict[str, Any] = {"__name__": filename}
        exec(compile(source, filename, "exec"), namespace)
        _COMPILED[source] = namespace
    return _COMPILED[source]


class Built(object):
    def __init__(self, module: Any, inputs: Tuple[Any, ...], outputs: List[numpy.ndarray]) -> None:
        self.module = module
        self.inputs = inputs
        self.outputs = outputs
        self.eager_ms: Optional[Tuple[float, float]] = None
        self.output_count = len(outputs)
        self.batch_inputs: Optional[Tuple[Any, ...]] = None
        self.batch_outputs: Optional[List[numpy.ndarray]] = None
        # the case's other input sets (its shapes()), each with eager's outputs: (inputs, outputs)
        self.shape_sets: List[Tuple[Tuple[Any, ...], List[numpy.ndarray]]] = []
        self.dynamic: Optional[Dict[str, Any]] = None  # the case's declared axes (exporters.dynamic_plan)


def input_layout(value: Any) -> Any:
    """What exporters.dynamic_plan needs of an argument: a tensor's ndim, None, "number", a list of layouts."""
    import torch
    if isinstance(value, torch.Tensor):
        return value.dim()
    if isinstance(value, (bool, int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return [input_layout(item) for item in value]
    if isinstance(value, dict):
        return {"dict": [input_layout(item) for item in value.values()]}
    return None


def forward_names(module: Any) -> List[str]:
    """The parameter names of the module's forward, in order (for a dynamic declaration by name)."""
    import inspect
    try:
        return [name for name in inspect.signature(module.forward).parameters if name != "self"]
    except (TypeError, ValueError, AttributeError):
        return []


def shape_label(arrays: List[numpy.ndarray]) -> str:
    """An input set as the row and its errors name it: its flattened inputs' shapes."""
    return "input shapes " + ", ".join("x".join(str(d) for d in a.shape) or "scalar" for a in arrays)


def _as_inputs(inputs: Any) -> Tuple[Any, ...]:
    import torch
    if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (tuple, list)):
        return (inputs,)
    return tuple(inputs)


def _shape_sets(module: Any, shapes: Callable[[], Any], name: str) -> List[Tuple[Tuple[Any, ...], List[numpy.ndarray]]]:
    import torch
    sets = shapes()
    if not isinstance(sets, (list, tuple)):
        raise TypeError("%s must return a list of input sets, got %s" % (name, type(sets).__name__))
    found = []
    for inputs in sets:
        inputs = _as_inputs(inputs)
        with torch.no_grad():
            found.append((inputs, to_numpy(flatten(module(*fresh(inputs))))))
    return found


def build(builder: Callable[[], Any], batchable: bool, name: str, shapes: Optional[Callable[[], Any]] = None) -> Built:
    """The build stage: seeds fixed, the case's module and inputs, eager outputs, and the same at a
    second batch size where the case is batchable and at each input set of the case's ``shapes()``.
    ``name`` says which builder, for its errors."""
    import random

    import torch
    random.seed(SEED)
    numpy.random.seed(SEED)
    torch.manual_seed(SEED)
    result = builder()
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("%s must return (module, example_inputs), got %s" % (name, type(result).__name__))
    module, inputs = result
    inputs = _as_inputs(inputs)
    if hasattr(module, "eval"):
        module.eval()
    with torch.no_grad():
        example = module(*fresh(inputs))
    built = Built(module, tuple(inputs), to_numpy(flatten(example)))
    first = flatten(inputs)
    if batchable and first and first[0].dim() > 0:
        built.batch_inputs = rebatch(tuple(inputs), int(first[0].shape[0]) + 1)
        with torch.no_grad():
            built.batch_outputs = to_numpy(flatten(module(*fresh(built.batch_inputs))))
    if shapes is not None:
        built.shape_sets = _shape_sets(module, shapes, name.rsplit(":", 1)[0] + ": shapes()")
    return built


def export(source: str, filename: str, built: Built, path: str) -> None:
    """The export stage: the exporter's recorded ``export_model`` on fresh copies of the inputs. A failure keeps
    the warnings the export gave (``exc.warned``): torch <= 1.12 says its reason only there (outputs.describe)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a repeat too: the same failure at another opset, or a confirmation
        try:
            compiled(source, filename)["export_model"](built.module, fresh(built.inputs), path)
        except Exception as exc:
            try:
                exc.warned = [str(w.message) for w in caught]
            except AttributeError:  # an exception type that takes no attributes: its own message must do
                pass
            raise


def onnx_opset(model: Any) -> Optional[int]:
    for item in model.opset_import:
        if item.domain in ("", "ai.onnx"):
            return int(item.version)
    return None


def inspect_model(path: str) -> Dict[str, Any]:
    """The check stage: opset produced, node count, and the checker's verdict (which never stops a cell)."""
    import onnx
    model = onnx.load(path)
    info: Dict[str, Any] = {"opset_actual": onnx_opset(model), "node_count": len(model.graph.node),
                            "checker_ok": True, "checker_error": None}
    try:
        try:
            onnx.checker.check_model(model, full_check=True)
        except TypeError:  # onnx < 1.8 has no full_check
            onnx.checker.check_model(model)
            onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        info["checker_error"] = ("%s: %s" % (type(exc).__name__, exc))[:MAX_ERROR_CHARS]
        info["checker_ok"] = False
    return info


def save_arrays(path: str, built: Built) -> str:
    """Inputs and eager outputs beside the exported file: what running it again elsewhere needs."""
    arrays: Dict[str, numpy.ndarray] = {}
    for prefix, values in (("input", to_numpy(flatten_inputs(built.inputs))), ("output", built.outputs),
                           ("batch_input", to_numpy(flatten_inputs(built.batch_inputs)) if built.batch_inputs else []),
                           ("batch_output", built.batch_outputs or [])):
        for index, value in enumerate(values):
            arrays["%s_%d" % (prefix, index)] = value
    for number, (inputs, outputs) in enumerate(built.shape_sets):
        for prefix, values in (("input", to_numpy(flatten_inputs(inputs))), ("output", outputs)):
            for index, value in enumerate(values):
                arrays["shape%d_%s_%d" % (number, prefix, index)] = value
    numpy.savez(path, **arrays)
    return path


def arrays_of(built: Built) -> Dict[str, List[numpy.ndarray]]:
    """What ``load_arrays`` gives back for ``built``, without the file."""
    return {"input": to_numpy(flatten_inputs(built.inputs)), "output": built.outputs,
            "batch_input": to_numpy(flatten_inputs(built.batch_inputs)) if built.batch_inputs is not None else [],
            "batch_output": built.batch_outputs or [],
            "shapes": [(to_numpy(flatten_inputs(i)), o) for i, o in built.shape_sets]}


def load_arrays(path: str) -> Dict[str, List[numpy.ndarray]]:
    with numpy.load(path, allow_pickle=False) as data:
        groups: Dict[str, List[Any]] = {"input": [], "output": [], "batch_input": [], "batch_output": []}
        for prefix in groups:
            index = 0
            while "%s_%d" % (prefix, index) in data:
                groups[prefix].append(data["%s_%d" % (prefix, index)])
                index += 1
        groups["shapes"] = []
        while any(key.startswith("shape%d_" % len(groups["shapes"])) for key in data.files):
            number = len(groups["shapes"])
            groups["shapes"].append(tuple(_numbered(data, "shape%d_%s" % (number, part)) for part in ("input", "output")))
    return groups


def _numbered(data: Any, prefix: str) -> List[numpy.ndarray]:
    found, index = [], 0
    while "%s_%d" % (prefix, index) in data:
        found.append(data["%s_%d" % (prefix, index)])
        index += 1
    return found


def _load_graph(path: str) -> Any:
    import onnx
    try:
        return onnx.load(path, load_external_data=False)
    except TypeError:  # an onnx without the argument
        return onnx.load(path)


def declared_inputs(path: str) -> List[Tuple[str, int]]:
    """The inputs the exported file declares (initializers listed as inputs left out), with ONNX element types."""
    model = _load_graph(path)
    initializers = {i.name for i in model.graph.initializer}
    return [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input if i.name not in initializers]


def _numpy_type(elem_type: int) -> Any:
    import onnx
    convert = getattr(onnx.helper, "tensor_dtype_to_np_dtype", None)  # onnx >= 1.13; onnx.mapping before
    return convert(elem_type) if convert is not None else onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[elem_type]


def feed(path: str, arrays: List[numpy.ndarray]) -> Tuple[List[numpy.ndarray], List[str]]:
    """What the exported file declares, from the case's inputs, in its order; and the inputs it dropped.

    The export names the case's inputs input_0, input_1, ... (``flatten_inputs``). An exporter keeps a
    Python number as a 0-d input of a type of its choosing (TorchScript: int64, double), bakes it in
    (dynamo), and drops an input it does not need (one used only for its shape). A file whose inputs are
    named otherwise (torch 2.1 - 2.3's dynamo_export names its own) is fed by position.
    """
    ours = ["input_%d" % i for i in range(len(arrays))]
    declared = declared_inputs(path)
    if any(name not in ours for name, _ in declared):
        return list(arrays), []
    fed = []
    for name, elem_type in declared:
        value = arrays[ours.index(name)]
        if value.ndim == 0 and elem_type:  # a Python number has no dtype of its own: the file's is the one
            value = value.astype(_numpy_type(elem_type))
        fed.append(value)
    kept = {name for name, _ in declared}
    return fed, [name for name in ours if name not in kept]


def run_exported(code: Dict[str, Any], path: str, data: Dict[str, List[numpy.ndarray]], atol: float, rtol: float,
                 stage: Callable[[str], ContextManager[Any]],
                 record: Callable[[Dict[str, Any]], None]) -> Tuple[Any, List[int], List[numpy.ndarray]]:
    """load -> run -> compare -> batch of an exported file with the runtime's recorded code.

    ``stage(name)`` enters each stage: the caller's one place that maps its exceptions to a status.
    ``record`` receives the comparison's numbers, also when they diverge (S11 is about them), and the
    inputs the exporter dropped. Returns the session, the batch sizes it ran at, and the arrays it was fed.
    """
    run_model = code["run_model"]
    with stage("load"):
        session = code["load_model"](path)
        arrays, dropped = feed(path, data["input"])
        record({"inputs_dropped": dropped or None})
    with stage("run"):
        got = run_model(session, arrays)
    with stage("compare"):
        record(_compare(got, data["output"], atol, rtol, record))
    first = data["input"][:1]
    sizes = [int(first[0].shape[0])] if first and first[0].ndim else []
    if data["batch_input"] and data["batch_output"]:
        size = int(data["batch_input"][0].shape[0])
        with stage("batch"):  # batch-fail: it does not run at another batch size
            got = run_model(session, feed(path, data["batch_input"])[0])
        with stage("compare"):  # it runs, and gives other numbers: a divergence
            _compare(got, data["batch_output"], atol, rtol, record, where="at batch size %d: " % size)
        sizes.append(size)
    ran = []
    for inputs, outputs in data.get("shapes") or []:
        label = shape_label(inputs)
        # batch-fail either way: the file ran and agreed at the export shape, so failing or other numbers at
        # another one is a shape it baked in (pytorch#128610: right at the traced length, wrong at another)
        with stage("batch"):
            try:
                got = run_model(session, feed(path, inputs)[0])
            except Exception as exc:  # the runtime's own words, saying at which input set
                exc.args = ("at %s: %s" % (label, exc),) if len(exc.args) <= 1 else exc.args
                raise
            compare(got, outputs, atol, rtol, where="at %s: " % label)
        ran.append(label)
    if ran:
        record({"extra_shapes": ran})
    return session, sizes, arrays


def symbolic_axes(path: str, declared: Dict[str, Dict[Any, str]]) -> Tuple[Optional[bool], List[str]]:
    """Whether the exported file kept every declared axis symbolic, and those it baked ("input_0 axis 1 (seq)
    = 8"). Graph inputs and outputs are matched by name (input_0, output_0), or by position where the exporter
    named them itself (torch 2.1 - 2.3's dynamo_export); None when nothing is declared."""
    if not declared:
        return None, []
    model = _load_graph(path)
    initializers = {i.name for i in model.graph.initializer}
    values = {"input": [v for v in model.graph.input if v.name not in initializers], "output": list(model.graph.output)}
    baked = []
    for name, axes in sorted(declared.items()):
        kind, index = name.rsplit("_", 1)
        found = [v for v in values[kind] if v.name == name] or values[kind][int(index):int(index) + 1]
        if not found:  # dropped by the exporter (an input used only for its shape): nothing to keep
            continue
        dims = found[0].type.tensor_type.shape.dim
        for axis, symbol in sorted((int(a), s) for a, s in axes.items()):
            if axis < len(dims) and dims[axis].HasField("dim_value"):
                baked.append("%s axis %d (%s) = %d" % (name, axis, symbol, dims[axis].dim_value))
    return not baked, baked


def _compare(got: Any, want: List[numpy.ndarray], atol: float, rtol: float,
             record: Callable[[Dict[str, Any]], None], where: str = "") -> Dict[str, Any]:
    try:
        return compare(got, want, atol, rtol, where=where)
    except Mismatch as mismatch:  # a diverging cell keeps its numbers
        record(mismatch.errors)
        raise
