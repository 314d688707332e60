"""One cell through the stages: build -> export -> check -> load -> run -> compare -> batch -> time.

Each stage maps its exceptions to a status in ``stage()`` and nowhere else. Builds
and exports are cached, so one exported file serves every runtime of the environment.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple  # noqa: F401 (type comments)

import onnx  # noqa: F401  (before torch: see environment.py)
import numpy
import torch

from matrix.worker import exporters, faults, runtimes
from matrix.worker.discovery import LoadedCase
from matrix.worker.schema import Row, Status

STAGE_FAILURE = {
    "build": Status.BUILD_FAIL,
    "export": Status.EXPORT_FAIL,
    "load": Status.LOAD_FAIL,
    "run": Status.RUN_FAIL,
    "compare": Status.DIVERGE,
    "batch": Status.BATCH_FAIL,
    "time": Status.RUN_FAIL,
    "place": Status.RUN_FAIL,
}
MAX_ERROR_CHARS = 4000
SEED = 0


def describe(exc: BaseException) -> str:
    """The message, then what caused it: exporters wrap the real reason ("Failed to export ... SARIF")."""
    parts = [str(exc) or type(exc).__name__]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen and len(parts) < 4:
        seen.add(id(cause))
        parts.append("caused by %s: %s" % (type(cause).__name__, cause))
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)[:MAX_ERROR_CHARS]


class StageFailed(Exception):
    def __init__(self, status: Status, error_type: str, error: str) -> None:
        Exception.__init__(self, error)
        self.status = status
        self.error_type = error_type
        self.error = error


class Mismatch(Exception):
    """Outputs differ from eager PyTorch beyond the case's tolerance (``errors``: how far, where known)."""

    def __init__(self, message: str, errors: Optional[Dict[str, Any]] = None) -> None:
        Exception.__init__(self, message)
        self.errors = errors or {}


def flatten(value: Any) -> List[Any]:
    """Tensors of a (nested) output in the order the exporter emits them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flatten(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flatten(item)]
    return []


def to_numpy(tensors: Sequence[Any]) -> List[numpy.ndarray]:
    return [t.detach().cpu().numpy() for t in tensors]


def fresh(value: Any) -> Any:
    """Copies of the inputs: cases with in-place ops must not see an earlier run's writes."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(fresh(item) for item in value)
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    return value


def rebatch(value: Any, size: int) -> Any:
    """The inputs at another batch size, by repeating rows along dim 0 (keeps index tensors valid)."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return value
        reps = (size + value.shape[0] - 1) // value.shape[0]
        return value.repeat(*([reps] + [1] * (value.dim() - 1)))[:size].clone()
    if isinstance(value, (list, tuple)):
        return type(value)(rebatch(item, size) for item in value)
    if isinstance(value, dict):
        return {key: rebatch(item, size) for key, item in value.items()}
    return value


def compare(got: Sequence[numpy.ndarray], want: Sequence[numpy.ndarray], atol: float, rtol: float) -> Dict[str, Any]:
    """Errors of ``got`` against eager ``want``; raises Mismatch when they do not agree."""
    if len(got) != len(want):
        raise Mismatch("%d outputs, eager PyTorch gives %d" % (len(got), len(want)))
    max_abs = max_rel = need_atol = 0.0
    for index, (g, w) in enumerate(zip(got, want)):
        g = numpy.asarray(g)
        if tuple(g.shape) != tuple(w.shape):
            raise Mismatch("output %d has shape %s, eager PyTorch gives %s" % (index, tuple(g.shape), tuple(w.shape)))
        if g.size == 0:
            continue
        diff = numpy.abs(g.astype(numpy.float64) - w.astype(numpy.float64))
        scale = numpy.abs(w.astype(numpy.float64))
        if not numpy.all(numpy.isfinite(diff) | (g == w)):
            max_abs = max_rel = need_atol = float("inf")
            continue
        diff = numpy.where(g == w, 0.0, diff)
        max_abs = max(max_abs, float(diff.max()))
        max_rel = max(max_rel, float((diff / numpy.maximum(scale, 1e-12)).max()))
        need_atol = max(need_atol, float(numpy.maximum(diff - rtol * scale, 0.0).max()))
    result = {"max_abs_err": max_abs, "max_rel_err": max_rel, "min_passing_atol": need_atol}
    if need_atol > atol:
        raise Mismatch("max abs error %.3g, max rel error %.3g: beyond atol=%g, rtol=%g (atol %.3g would pass)"
                       % (max_abs, max_rel, atol, rtol, need_atol), result)
    return result


def record(row: Row, fields: Dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(row, key, value)


def latency(call: Callable[[], Any], budget_s: float = 1.0, warmup: int = 2, min_runs: int = 5,
            max_runs: int = 50) -> Tuple[float, float]:
    """Median and p90 in ms of ``call`` after a warm-up, within a time budget."""
    for _ in range(warmup):
        call()
    samples = []  # type: List[float]
    started = time.perf_counter()
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))]


class Built(object):
    def __init__(self, module: Any, inputs: Tuple[Any, ...], outputs: List[numpy.ndarray]) -> None:
        self.module = module
        self.inputs = inputs
        self.outputs = outputs
        self.eager_ms = None  # type: Optional[Tuple[float, float]]
        self.example_outputs = None  # type: Any
        self.batch_inputs = None  # type: Optional[Tuple[Any, ...]]
        self.batch_outputs = None  # type: Optional[List[numpy.ndarray]]


class Pipeline(object):
    def __init__(self, cases: Dict[str, LoadedCase], caps: Dict[str, Any], versions: Dict[str, Any],
                 exports_dir: str, on_stage: Callable[[str], None], time_budget_s: float = 1.0) -> None:
        self.cases = cases
        self.caps = caps
        self.versions = versions
        self.exports_dir = exports_dir
        self.on_stage = on_stage
        self.time_budget_s = time_budget_s
        self.built = {}  # type: Dict[Tuple[str, str], Any]
        self.exported = {}  # type: Dict[str, Dict[str, Any]]

    @contextlib.contextmanager
    def stage(self, row: Row, name: str) -> Iterator[None]:
        """Enter a stage: tell the host (so a crash names it) and map its exceptions to a status."""
        row.stage = name
        self.on_stage(name)
        try:
            faults.maybe_inject(row.case or "", name)
            yield
        except StageFailed:
            raise
        except Exception as exc:
            raise StageFailed(STAGE_FAILURE[name], type(exc).__name__, describe(exc))

    def run_cell(self, cell: Dict[str, Any]) -> Row:
        started = time.perf_counter()
        loaded = self.cases[cell["case"]]
        options = cell.get("options") or {}
        row = Row(cell=cell["cell"], case=loaded.id, variant=cell["variant"], case_hash=loaded.case_hash,
                  exporter=cell["exporter"], opset_requested=cell["opset"], runtime=cell["runtime"],
                  provider=cell["provider"], seed_claims=list(loaded.case.seed),
                  atol=loaded.case.atol, rtol=loaded.case.rtol, stage="plan",
                  **{k: options.get(k) for k in ("keep_initializers_as_inputs", "do_constant_folding", "dynamic_axes")})
        for key in ("python", "torch", "onnx", "onnxruntime", "numpy", "protobuf", "cpu", "gpu"):
            setattr(row, key, self.versions.get(key))
        runtime = runtimes.adapter(cell["runtime"], cell["provider"])
        reason = exporters.skip_reason(cell["exporter"], cell["opset"], self.caps) or runtime.unavailable(self.caps)
        if reason:
            row.status, row.error = Status.SKIP.value, reason
        else:
            try:
                self._run(row, loaded, cell, options, runtime)
                row.status = Status.PASS.value
            except StageFailed as failed:
                row.status, row.error_type, row.error = failed.status.value, failed.error_type, failed.error
        row.duration_s = round(time.perf_counter() - started, 4)
        return row

    def _run(self, row: Row, loaded: LoadedCase, cell: Dict[str, Any], options: Dict[str, Any],
             runtime: runtimes.Runtime) -> None:
        with self.stage(row, "build"):
            built = self._build(loaded, cell["variant"])
        with self.stage(row, "export"):
            exported = self._export(loaded, cell, options, built)
        self._run_exported(row, runtime, exported, {
            "input": to_numpy(flatten(built.inputs)), "output": built.outputs,
            "batch_input": to_numpy(flatten(built.batch_inputs)) if built.batch_inputs is not None else [],
            "batch_output": built.batch_outputs or []})
        with self.stage(row, "time"):
            if built.eager_ms is None:
                module, inputs = built.module, fresh(built.inputs)

                def eager() -> None:
                    with torch.no_grad():
                        module(*inputs)
                built.eager_ms = latency(eager, self.time_budget_s)
            row.eager_ms, row.eager_p90_ms = built.eager_ms

    def _run_exported(self, row: Row, runtime: runtimes.Runtime, exported: Dict[str, Any],
                      data: Dict[str, List[numpy.ndarray]]) -> None:
        """load -> run -> compare -> batch -> time -> place on an exported file, here or replayed."""
        for key in ("opset_actual", "node_count", "export_s", "checker_ok", "checker_error"):
            setattr(row, key, exported.get(key))
        if not exported["ok"]:
            raise StageFailed(Status.EXPORT_FAIL, exported["error_type"], exported["error"])
        atol, rtol = exported["atol"], exported["rtol"]
        arrays = data["input"]
        with self.stage(row, "load"):
            session = runtime.load(exported["path"])
        with self.stage(row, "run"):
            got = runtime.run(session, arrays)
        with self.stage(row, "compare"):
            try:
                record(row, compare(got, data["output"], atol, rtol))
            except Mismatch as mismatch:  # a diverging cell keeps its numbers: S11 is about them
                record(row, mismatch.errors)
                raise
        batch = [int(arrays[0].shape[0])] if arrays and arrays[0].ndim else []
        if data["batch_input"] and data["batch_output"]:
            with self.stage(row, "batch"):
                compare(runtime.run(session, data["batch_input"]), data["batch_output"], atol, rtol)
                batch.append(int(data["batch_input"][0].shape[0]))
        row.batch_sizes = batch or None
        with self.stage(row, "time"):
            row.latency_ms, row.latency_p90_ms = latency(lambda: runtime.run(session, arrays), self.time_budget_s)
        with self.stage(row, "place"):
            share = runtime.placement(exported["path"], arrays, os.path.join(self.exports_dir, "profiles"))
            row.provider_node_share = share
            if share is not None and runtime.provider == "CUDAExecutionProvider":
                row.gpu_node_share = share

    def replay_cell(self, request: Dict[str, Any]) -> Row:
        """Run a file another environment exported, with this environment's runtime (``runtime_env``)."""
        started = time.perf_counter()
        with open(request["export"]) as handle:
            exported = json.load(handle)
        options = exported.get("options") or {}
        origin = exported.get("versions") or {}
        row = Row(cell=request["cell"], case=exported["case"], variant=exported["variant"],
                  case_hash=exported.get("case_hash"), exporter=exported["exporter"],
                  opset_requested=exported["opset"], runtime=request["runtime"], provider=request["provider"],
                  seed_claims=exported.get("seed_claims"), atol=exported["atol"], rtol=exported["rtol"],
                  stage="plan", runtime_env=request["runtime_env"],
                  **{k: options.get(k) for k in ("keep_initializers_as_inputs", "do_constant_folding", "dynamic_axes")})
        for key in ("python", "torch", "onnx", "onnxruntime", "numpy", "protobuf", "cpu", "gpu"):
            setattr(row, key, origin.get(key))
        row.runtime_version = self.versions.get("onnx" if request["runtime"] == "reference" else request["runtime"])
        runtime = runtimes.adapter(request["runtime"], request["provider"])
        reason = runtime.unavailable(self.caps)
        if reason:
            row.status, row.error = Status.SKIP.value, reason
        else:
            try:
                exported["path"] = request["export"][:-5] + ".onnx"  # the folder may have moved
                self._run_exported(row, runtime, exported, load_arrays(exported["path"][:-5] + ".npz")
                                   if exported["ok"] else {})
                row.status = Status.PASS.value
            except StageFailed as failed:
                row.status, row.error_type, row.error = failed.status.value, failed.error_type, failed.error
        row.duration_s = round(time.perf_counter() - started, 4)
        return row

    def _build(self, loaded: LoadedCase, variant: str) -> Built:
        key = (loaded.id, variant)
        cached = self.built.get(key)
        if isinstance(cached, StageFailed):
            raise cached
        if cached is not None:
            return cached
        try:
            random.seed(SEED)
            numpy.random.seed(SEED)
            torch.manual_seed(SEED)
            result = loaded.builders[variant]()
            if not (isinstance(result, tuple) and len(result) == 2):
                raise TypeError("%s: build_%s() must return (module, example_inputs), got %s"
                                % (loaded.path, variant, type(result).__name__))
            module, inputs = result
            if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (tuple, list)):
                inputs = (inputs,)
            if hasattr(module, "eval"):
                module.eval()
            with torch.no_grad():
                example = module(*fresh(inputs))
            built = Built(module, tuple(inputs), to_numpy(flatten(example)))
            built.example_outputs = example
            first = flatten(inputs)
            if loaded.case.batchable and first and first[0].dim() > 0:
                built.batch_inputs = rebatch(tuple(inputs), int(first[0].shape[0]) + 1)
                with torch.no_grad():
                    built.batch_outputs = to_numpy(flatten(module(*fresh(built.batch_inputs))))
        except Exception as exc:
            failed = StageFailed(Status.BUILD_FAIL, type(exc).__name__, describe(exc))
            self.built[key] = failed
            raise failed
        self.built[key] = built
        return built

    def _export(self, loaded: LoadedCase, cell: Dict[str, Any], options: Dict[str, Any], built: Built) -> Dict[str, Any]:
        """Export once per (case, variant, exporter, opset, options); the result is kept on disk."""
        opts = "-".join("%s=%s" % (k, options[k]) for k in sorted(options)) or "default"
        stem = "%s__%s__%s__opset%d__%s__%s" % (loaded.id, cell["variant"], cell["exporter"], cell["opset"],
                                                 opts, loaded.case_hash)
        if stem in self.exported:
            return self.exported[stem]
        if not os.path.isdir(self.exports_dir):
            os.makedirs(self.exports_dir)
        path = os.path.join(self.exports_dir, stem + ".onnx")
        sidecar = path[:-5] + ".json"
        if os.path.exists(sidecar):  # made by an earlier worker of this run, before a restart
            with open(sidecar) as handle:
                result = json.load(handle)
            self.exported[stem] = result
            return result
        result = {"ok": False, "path": path, "atol": loaded.case.atol, "rtol": loaded.case.rtol}  # type: Dict[str, Any]
        started = time.perf_counter()
        try:
            exporters.export_model(cell["exporter"], built.module, fresh(built.inputs), path, cell["opset"],
                                   options, built.example_outputs)
            result["ok"] = True
        except Exception as exc:
            result.update(error_type=type(exc).__name__, error=describe(exc))
        result["export_s"] = round(time.perf_counter() - started, 4)
        if result["ok"]:
            self.on_stage("check")
            result.update(inspect_model(path))
            # what another environment's runtimes need to run this file again (replay)
            result["data"] = save_arrays(path[:-5] + ".npz", built)
        result.update(case=loaded.id, variant=cell["variant"], exporter=cell["exporter"], opset=cell["opset"],
                      options=options, atol=loaded.case.atol, rtol=loaded.case.rtol, case_hash=loaded.case_hash,
                      seed_claims=list(loaded.case.seed), versions=self.versions)
        tmp = sidecar + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(result, handle)
        os.replace(tmp, sidecar)
        self.exported[stem] = result
        return result


def save_arrays(path: str, built: Built) -> str:
    arrays = {}  # type: Dict[str, numpy.ndarray]
    for prefix, values in (("input", to_numpy(flatten(built.inputs))), ("output", built.outputs),
                           ("batch_input", to_numpy(flatten(built.batch_inputs)) if built.batch_inputs else []),
                           ("batch_output", built.batch_outputs or [])):
        for index, value in enumerate(values):
            arrays["%s_%d" % (prefix, index)] = value
    numpy.savez(path, **arrays)
    return path


def load_arrays(path: str) -> Dict[str, List[numpy.ndarray]]:
    with numpy.load(path, allow_pickle=False) as data:
        groups = {"input": [], "output": [], "batch_input": [], "batch_output": []}  # type: Dict[str, List[Any]]
        for prefix in groups:
            index = 0
            while "%s_%d" % (prefix, index) in data:
                groups[prefix].append(data["%s_%d" % (prefix, index)])
                index += 1
    return groups


def inspect_model(path: str) -> Dict[str, Any]:
    """The check stage: opset produced, node count, and the checker's verdict (which never stops a cell)."""
    from matrix.worker.environment import onnx_opset
    model = onnx.load(path)
    info = {"opset_actual": onnx_opset(model), "node_count": len(model.graph.node),
            "checker_ok": True, "checker_error": None}  # type: Dict[str, Any]
    try:
        try:
            onnx.checker.check_model(model, full_check=True)
        except TypeError:  # onnx < 1.8 has no full_check
            onnx.checker.check_model(model)
            onnx.shape_inference.infer_shapes(model)
    except Exception as exc:
        info["checker_ok"] = False
        info["checker_error"] = ("%s: %s" % (type(exc).__name__, exc))[:MAX_ERROR_CHARS]
    return info
