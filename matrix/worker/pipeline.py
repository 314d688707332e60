"""One cell through the stages: build -> export -> check -> load -> run -> compare -> batch -> time -> place.

Each stage maps its exceptions to a status in ``stage()``, the one place (``stages.run_exported`` is
handed it; the host maps only a worker's death or hang). Builds and
exports are cached, so one exported file serves every runtime of the environment. The
exporter's and the runtime's code come from their adapters as source: it is compiled,
called, and recorded in the row, so the reproduction runs the very same calls. What each
stage does is ``stages.py``'s, which reproductions ship as source and call the same way.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy
import onnx  # noqa: F401  (before torch: see environment.py)
import torch

from matrix.adapters import EXPORTERS, runtime_for
from matrix.adapters.exporters import dynamic_plan, torch_export_source
from matrix.wire import STAGE_FAILURE, Cell, Row, Status
from matrix.wire.contract import CaseSkip
from matrix.worker import faults
from matrix.worker.discovery import LoadedCase
from matrix.worker.outputs import MAX_ERROR_CHARS, describe, flatten_inputs, fresh
from matrix.worker.sidecar import check_unchanged, read_sidecar, sha256_of
from matrix.worker.stages import (
    Built,
    arrays_of,
    build,
    compiled,
    export,
    forward_names,
    input_layout,
    inspect_model,
    load_arrays,
    run_exported,
    save_arrays,
    symbolic_axes,
)

# the checkout the worker runs from (matrix/worker/pipeline.py's grandparent's parent): never in a row's text
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS}


class StorageFault(BaseException):
    """The disk the worker writes to refused (full, read-only): not the case's failure, so never its row."""


def storage_fault(exc: Optional[BaseException]) -> Optional[str]:
    """The disk's complaint behind an exception (chained or in words), or None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            return "%s%s" % (exc.strerror, " (%s)" % exc.filename if exc.filename else "")
        if "No space left on device" in str(exc) or "Read-only file system" in str(exc):
            return str(exc).splitlines()[0][:300]
        exc = exc.__cause__ or exc.__context__
    return None


class StageFailed(Exception):
    def __init__(self, status: Status, error_type: str, error: str) -> None:
        Exception.__init__(self, error)
        self.status = status
        self.error_type = error_type
        self.error = error


def record(row: Row, fields: Dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(row, key, value)


def latency(call: Callable[[], Any], budget_s: float = 1.0, warmup: int = 2, min_runs: int = 5,
            max_runs: int = 50) -> Tuple[float, float]:
    """Median and p90 in ms of ``call`` after a warm-up, within a time budget."""
    for _ in range(warmup):
        call()
    samples: List[float] = []
    started = time.perf_counter()
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000.0)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(round(0.9 * (len(samples) - 1))))]


def _memory_kb(field: str) -> Optional[int]:
    """VmRSS or VmHWM (the peak since the last reset) of this process, from /proc: Linux only, else None."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@contextlib.contextmanager
def peak_memory(found: Dict[str, Any]) -> Iterator[None]:
    """The export's peak memory in MB above what the worker held before it (``export_peak_mb``): the kernel's
    peak-RSS mark is reset (clear_refs 5, Linux >= 4.0) and read after, so torch's C++ allocations count too,
    at the cost of two reads of /proc (tracemalloc would see Python's allocations only, and slow the export).
    None where /proc does not allow it."""
    before = _memory_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        before = None
    try:
        yield
    finally:
        peak = _memory_kb("VmHWM")
        found["export_peak_mb"] = round(max(0, peak - before) / 1024.0, 1) if before and peak else None


def export_facts(path: str, built: Built, options: Dict[str, Any]) -> Dict[str, Any]:
    """What a deployer asks of an exported file besides pass/fail: its size, and whether the axes it was asked
    to keep dynamic (the case's declaration, or dim 0 of every input for a plain dynamic_axes=True) are still
    symbolic in the file."""
    size = sum(os.path.getsize(p) for p in (path, path + ".data") if os.path.exists(p))
    declared: Dict[str, Dict[Any, str]] = {}
    if options.get("dynamic_axes"):
        if built.dynamic is not None:
            declared = built.dynamic["axes"]
        else:
            arrays = flatten_inputs(built.inputs)
            declared = {"input_%d" % i: {0: "batch"} for i, a in enumerate(arrays)
                        if isinstance(a, torch.Tensor) and a.dim() > 0}
    kept, baked = symbolic_axes(path, declared)
    return {"onnx_bytes": size, "dynamic_kept": kept, "dynamic_baked": baked or None,
            "dynamic_declared": {name: {str(a): n for a, n in axes.items()} for name, axes in declared.items()} or None}


def io_names(built: Built) -> Dict[str, Any]:
    """What an exporter's source() is told of the cell's inputs and outputs: their names, and the case's declared
    dynamic axes (TorchScript's dynamic_axes by those names, dynamo's dynamic_shapes per argument)."""
    names: Dict[str, Any] = {"inputs": ["input_%d" % i for i in range(len(flatten_inputs(built.inputs)))],
                             "outputs": ["output_%d" % i for i in range(built.output_count)]}
    if built.dynamic is not None:
        names.update(dynamic_axes=built.dynamic["axes"], dynamic_shapes=built.dynamic["shapes"])
    return names


def variant_shapes(module: Any, variant: str) -> Optional[Callable[[], Any]]:
    """A variant's other input sets: the module's ``shapes_<variant>()``, else its ``shapes()``."""
    for name in ("shapes_" + variant, "shapes"):
        found = getattr(module, name, None)
        if callable(found):
            return found
    return None


class Pipeline(object):
    def __init__(self, cases: Dict[str, LoadedCase], caps: Dict[str, Any], versions: Dict[str, Any],
                 exports_dir: str, on_stage: Callable[[str], None], time_budget_s: float = 1.0,
                 slate: Any = None, timing_lock: Optional[str] = None) -> None:
        self.cases = cases
        self.caps = caps
        self.versions = versions
        self.exports_dir = exports_dir
        self.on_stage = on_stage
        self.time_budget_s = time_budget_s
        self.built: Dict[str, Any] = {}
        self.exported: Dict[str, Dict[str, Any]] = {}
        self.model_path: Optional[str] = None
        self.slate = slate
        self.timing_lock = timing_lock
        self.case: Optional[str] = None
        self.exported_now = False  # this cell exported (ran the case's forward), not a cached file
        self.case_changes: List[str] = []

    def portable(self, text: str) -> str:
        """An error as any machine would print it: the exported file is ``model.onnx``, as in the reproduction."""
        if self.model_path:
            text = text.replace(self.model_path, "model.onnx")
        # C++ stack traces name the environment's files: keep the part any machine has (lib/python3.x/...)
        for prefix in sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix)}, key=len, reverse=True):
            text = text.replace(prefix + os.sep, "")
        text = text.replace(os.path.abspath(self.exports_dir) + os.sep, "")
        return text.replace(REPO_ROOT + os.sep, "")  # a case's own file, as dynamo's messages name it: cases/...

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """Latency is sampled while no other environment of the run samples its own (environments may
        run at once: their timing phases never overlap, and rows note how many ran)."""
        if not self.timing_lock:
            yield
            return
        import fcntl
        with open(self.timing_lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def stage(self, row: Row, name: str, skips: Tuple[str, ...] = ()) -> Iterator[None]:
        """Enter a stage: tell the host (so a crash names it) and map its exceptions to a status.

        ``skips``: names of the exceptions by which the adapter's code says the cell cannot run here."""
        row.stage = name
        self.on_stage(name)
        entered = time.perf_counter()
        try:
            faults.maybe_inject(row.case or "", name)
            yield
        except StageFailed:
            raise
        except Exception as exc:
            fault = storage_fault(exc)
            if fault:
                raise StorageFault("stage %s of %s: %s" % (name, row.cell, fault))
            if type(exc).__name__ in skips:  # the runtime's code says it ran elsewhere (its adapter's skip_exceptions)
                raise StageFailed(Status.SKIP, type(exc).__name__, self.portable(describe(exc)))
            raise StageFailed(STAGE_FAILURE[name], type(exc).__name__, self.portable(describe(exc)))
        finally:
            spent = row.stage_s if row.stage_s is not None else {}
            spent[name] = round(spent.get(name, 0.0) + time.perf_counter() - entered, 4)
            row.stage_s = spent

    def _runtime_fields(self, row: Row, cell: Cell) -> Any:
        """The runtime adapter, and the row's record of which runtime, in which environment, ran the cell."""
        adapter = runtime_for(cell.runtime, cell.provider)
        caps = self.caps["runtimes"][adapter.name]
        row.runtime_version = caps.get("version")
        row.runtime_onnx = self.versions.get("onnx")
        row.runtime_onnxruntime = self.versions.get("onnxruntime")
        row.runtime_versions = self.caps.get("version_keys")
        return adapter, caps

    def _enter_case(self, case: str, fresh: bool = False) -> None:
        """A new case starts from the state the worker started with; changes are counted per case. A
        confirmation run (``fresh``) starts from it too, and builds the case again."""
        if fresh:
            self.case = None
            for key in [k for k in self.built if k.split("/", 1)[0] == case]:
                del self.built[key]
        if case != self.case:
            if self.slate is not None:
                self.slate.restore()
            self.case, self.case_changes = case, []

    def _note_changes(self, where: str, processes: bool = True, classes: bool = True) -> None:
        """Record what differs from the clean slate, once, with where it was first seen: the case's own
        build, or an exporter or runtime the harness called (torch 2.9's dynamo exporter leaves torch.jit
        patched when it fails)."""
        if self.slate is not None:
            for change in self.slate.changes(processes, classes):
                if not any(seen.startswith(change + " (") for seen in self.case_changes):
                    self.case_changes.append("%s (%s)" % (change, where))

    def _finish(self, row: Row, work: Callable[[], None], started: float) -> Row:
        self.model_path = None
        try:
            work()
            row.status = Status.PASS.value
        except StageFailed as failed:
            row.status, row.error_type, row.error = failed.status.value, failed.error_type, failed.error
        self._note_changes("seen after %s" % row.cell, processes=False, classes=self.exported_now)
        self.exported_now = False
        if self.case_changes:  # said in every row of the case; the host restarts the worker after it
            row.state_changed = "; ".join(self.case_changes)
        row.duration_s = round(time.perf_counter() - started, 4)
        return row

    def run_cell(self, request: Dict[str, Any]) -> Row:
        """A cell of this environment's corpus, from build to placement."""
        started = time.perf_counter()
        cell = Cell.from_dict(request["cell"])
        loaded = self.cases[cell.case]
        self._enter_case(cell.case, fresh=bool(request.get("fresh")))
        row = Row.for_cell(cell, self.versions, case_hash=loaded.case_hash, seed_claims=list(loaded.case.seed),
                           atol=loaded.case.atol, rtol=loaded.case.rtol, stage="plan")
        adapter, caps = self._runtime_fields(row, cell)

        def work() -> None:
            ran_build = "%s/%s" % (loaded.id, cell.variant) not in self.built
            with self.stage(row, "build"):
                built = self._build(loaded, cell.variant)
            if ran_build:  # the case's own code ran: what it left behind is its doing
                self._note_changes("in the case's build_%s()" % cell.variant if cell.variant != "default"
                                   else "in the case's build()")
            if self.slate is not None:  # the exporter and runtime functions the harness captured at start
                self.slate.restore_functions()
            with self.stage(row, "export"):
                exported = self._export(loaded, cell, built, fresh_export=bool(request.get("fresh")))
            self._run_exported(row, adapter, caps, exported, arrays_of(built))
            with self.stage(row, "time"):
                if built.eager_ms is None:
                    module, inputs = built.module, fresh(built.inputs)

                    def eager() -> None:
                        with torch.no_grad():
                            module(*inputs)
                    with self.quiet():
                        built.eager_ms = latency(eager, self.time_budget_s)
                row.eager_ms, row.eager_p90_ms = built.eager_ms
        return self._finish(row, work, started)

    def replay_cell(self, request: Dict[str, Any]) -> Row:
        """Run a file another environment exported, with this environment's runtime (``runtime_env``)."""
        started = time.perf_counter()
        cell = Cell.from_dict(request["cell"])
        self._enter_case("replay:" + cell.case)
        exported, problem = read_sidecar(request["export"])
        known = exported if problem is None else {}  # a damaged sidecar's values are not the row's
        versions, claims = exported.get("versions"), exported.get("seed_claims")
        case_hash = exported.get("case_hash") if isinstance(exported.get("case_hash"), str) else None
        row = Row.for_cell(cell, versions if isinstance(versions, dict) else None, case_hash=case_hash,
                           seed_claims=claims if isinstance(claims, list) else None, atol=known.get("atol"),
                           rtol=known.get("rtol"), stage="plan")
        adapter, caps = self._runtime_fields(row, cell)

        def work() -> None:
            if problem:
                raise StageFailed(Status.LOAD_FAIL, "BadSidecar", problem)
            exported["path"] = request["export"][:-5] + ".onnx"  # the folder may have moved
            data: Dict[str, List[numpy.ndarray]] = {}
            if exported["ok"]:
                with self.stage(row, "load"):
                    check_unchanged(exported["path"][:-5] + ".npz", exported.get("data_sha256"))
                    data = load_arrays(exported["path"][:-5] + ".npz")
            self._run_exported(row, adapter, caps, exported, data)
        return self._finish(row, work, started)

    def _run_exported(self, row: Row, adapter: Any, caps: Dict[str, Any], exported: Dict[str, Any],
                      data: Dict[str, List[numpy.ndarray]]) -> None:
        """load -> run -> compare -> batch -> time -> place on an exported file, here or replayed."""
        for key in ("opset_actual", "node_count", "export_s", "checker_ok", "checker_error", "export_call", "onnx_bytes",
                    "export_peak_mb", "dynamic_declared", "dynamic_kept", "dynamic_baked", "torch_export_strict",
                    "torch_export_nonstrict", "torch_export_call"):
            setattr(row, key, exported.get(key))
        row.export_sha256 = exported.get("export_sha256")
        if not exported["ok"]:
            raise StageFailed(Status.EXPORT_FAIL, exported["error_type"], exported["error"])
        self.model_path = exported["path"]
        with self.stage(row, "load"):  # another case may have written into the exports folder
            check_unchanged(exported["path"], row.export_sha256)
        row.runtime_call = adapter.source(caps)
        code = compiled(row.runtime_call, "<%s runtime>" % adapter.name)
        run_model = code["run_model"]
        skips = tuple(adapter.skip_exceptions)
        # a random op's outputs agree in shape and dtype only: no atol is too wide for its values
        atol = exported["atol"] if exported.get("compare_values", True) else float("inf")
        session, batch, arrays = run_exported(code, exported["path"], data, atol, exported["rtol"],
                                      lambda name: self.stage(row, name, skips), lambda fields: record(row, fields))
        row.batch_sizes = batch or None
        with self.stage(row, "time", skips):
            bind = code.get("bind_model")  # device runtimes time with inputs and outputs bound on the device
            call = bind(session, arrays) if bind else (lambda: run_model(session, arrays))
            row.latency_method = "io-binding" if bind else "run"
            with self.quiet():
                row.latency_ms, row.latency_p90_ms = latency(call, self.time_budget_s)
        if adapter.device:  # on a CPU runtime every node is the CPU's
            with self.stage(row, "place", skips):
                placed = adapter.placement(exported["path"], arrays, os.path.join(self.exports_dir, "profiles"))
                record(row, placed or {})
                row.provider_node_share = row.gpu_node_share

    def _build(self, loaded: LoadedCase, variant: str) -> Built:
        key = "%s/%s" % (loaded.id, variant)
        cached = self.built.get(key)
        if isinstance(cached, StageFailed):
            raise cached
        if cached is not None:
            return cached
        try:
            shapes = variant_shapes(loaded.module, variant)
            built = build(loaded.builders[variant], loaded.case.batchable, "%s: build_%s()" % (loaded.path, variant),
                          shapes=shapes)
            if any(loaded.case.declared(variant)):
                built.dynamic = self._plan(loaded, built, variant)
        except CaseSkip as exc:  # the release lacks what the case calls (an operator added later): not a failure
            failed = StageFailed(Status.SKIP, type(exc).__name__, str(exc))
            self.built[key] = failed
            raise failed
        except Exception as exc:
            failed = StageFailed(Status.BUILD_FAIL, type(exc).__name__, describe(exc))
            self.built[key] = failed
            raise failed
        self.built[key] = built
        return built

    @staticmethod
    def _plan(loaded: LoadedCase, built: Built, variant: str) -> Dict[str, Any]:
        """The variant's declared dynamic axes for its built inputs; a declaration that does not fit them is the
        case's bug (build-fail), named with its file."""
        try:
            return dynamic_plan(*loaded.case.declared(variant),
                                [input_layout(item) for item in built.inputs], forward_names(built.module),
                                [a.ndim for a in built.outputs])
        except ValueError as exc:
            raise type(exc)("%s: %s" % (loaded.path, exc))

    def _torch_export(self, cell: Cell, built: Built, names: Dict[str, Any]) -> Dict[str, Any]:
        """After a failed dynamo export: torch.export alone, strict and non-strict where this torch has both
        (one default mode where ``strict`` is not a parameter): which half of the exporter failed."""
        caps = self.caps["exporters"][cell.exporter]
        source = torch_export_source(cell.options, names, caps)
        if source is None:
            return {}
        found: Dict[str, Any] = {"torch_export_call": source}
        for strict in ((True, False) if "strict" in caps["torch_export_parameters"] else (None,)):
            EXPORTERS[cell.exporter].reset()
            key = "torch_export_nonstrict" if strict is False else "torch_export_strict"
            try:
                compiled(source, "<torch.export>")["torch_export"](built.module, fresh(built.inputs), strict)
                found[key] = "pass"
            except Exception as exc:
                found[key] = ("%s: %s" % (type(exc).__name__, self.portable(describe(exc))))[:MAX_ERROR_CHARS // 4]
        return found

    def _export(self, loaded: LoadedCase, cell: Cell, built: Built, fresh_export: bool = False) -> Dict[str, Any]:
        """Export once per export key and case source; the result is kept on disk for restarted workers.

        ``fresh_export`` (a confirmation run) exports again, into ``retry/``, whatever is cached.
        """
        folder = os.path.join(self.exports_dir, "retry") if fresh_export else self.exports_dir
        stem = cell.export_stem(loaded.case_hash)
        path = os.path.join(folder, stem + ".onnx")
        if path in self.exported:
            return self.exported[path]
        if not os.path.isdir(folder):
            os.makedirs(folder)
        sidecar = path[:-5] + ".json"
        if os.path.exists(sidecar) and not fresh_export:  # made by an earlier worker of this run, before a restart
            with open(sidecar) as handle:
                result = json.load(handle)
            self.exported[path] = result
            return result
        exporter = EXPORTERS[cell.exporter]
        names = io_names(built)
        source = exporter.source(cell.opset, cell.options, names, self.caps["exporters"][exporter.name],
                                 scripted=isinstance(built.module, torch.jit.ScriptModule))
        result: Dict[str, Any] = {"ok": False, "path": path, "export_call": source}
        started = time.perf_counter()
        exporter.reset()  # what the exporter carries over from earlier exports (dynamo's caches)
        self.exported_now = True  # the export calls the case's forward: its code runs again
        try:
            with peak_memory(result):
                export(source, "<%s export>" % exporter.name, built, path)
            result["ok"] = True
        except Exception as exc:
            fault = storage_fault(exc)
            if fault:
                raise StorageFault("exporting %s: %s" % (cell.key, fault))
            self.model_path = path
            result.update(error_type=type(exc).__name__, error=self.portable(describe(exc)))
        result["export_s"] = round(time.perf_counter() - started, 4)
        if not result["ok"] and cell.exporter == "dynamo" and loaded.case.corpus != "ops":  # op cells: too many
            result.update(self._torch_export(cell, built, names))
        if result["ok"]:
            self.on_stage("check")
            result.update(inspect_model(path))
            result.update(export_facts(path, built, cell.options))
            # what another environment's runtimes need to run this file again (replay)
            result["data"] = os.path.basename(save_arrays(path[:-5] + ".npz", built))
            # what the row, replay and publish hold the files to: a case can reach the exports folder
            result.update(export_sha256=sha256_of(path), data_sha256=sha256_of(path[:-5] + ".npz"))
        # what replay needs to run the file again: the export's part of the cell, not a runtime's
        result.update(case=cell.case, variant=cell.variant, exporter=cell.exporter, opset=cell.opset,
                      options=cell.options, atol=loaded.case.atol, rtol=loaded.case.rtol, compare_values=loaded.case.compare_values,
                      case_hash=loaded.case_hash,
                      seed_claims=list(loaded.case.seed), versions=self.versions)
        tmp = sidecar + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(result, handle)
        os.replace(tmp, sidecar)
        self.exported[path] = result
        return result


def warm_up(names: List[str], caps: Dict[str, Any], scratch: str) -> None:
    """Use each named exporter and runtime once on a tiny model: what they import and set up lazily
    (torch._dynamo wraps torch.manual_seed, inductor sets its cache folder) happens now, before the
    clean slate is taken, and is not taken for a case's doing. Failures are ignored: a cell will say."""
    import tempfile

    from matrix.adapters import RUNTIMES
    folder = tempfile.mkdtemp(prefix=".warm-", dir=scratch if os.path.isdir(scratch) else None)
    module, inputs = torch.nn.Linear(2, 2).eval(), (torch.ones(1, 2),)
    names_io = {"inputs": ["input_0"], "outputs": ["output_0"]}
    files = []
    for name in names:
        exporter = EXPORTERS.get(name)
        if exporter is None or exporter.unavailable(11, caps["exporters"][name]):
            continue
        path = os.path.join(folder, name + ".onnx")
        try:
            source = exporter.source(11, {}, names_io, caps["exporters"][name], scripted=False)
            compiled(source, "<%s export>" % name)["export_model"](module, inputs, path)
            files.append(path)
        except Exception:
            pass
    for name in names:
        adapter = RUNTIMES.get(name)
        if adapter is None or adapter.unavailable(caps["runtimes"][name]):
            continue
        for path in files:
            try:
                code = compiled(adapter.source(caps["runtimes"][name]), "<%s runtime>" % name)
                code["run_model"](code["load_model"](path), [numpy.ones((1, 2), numpy.float32)])
            except Exception:
                pass
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
