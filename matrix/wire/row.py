"""The result row: flat, JSON-ready, one line of a results file, with its schema version.

Stdlib only, Python 3.7 syntax. Older rows are migrated on read (as asv does), newer
ones refused with a message.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional

from matrix.wire.cell import Cell

# Bump when a field changes meaning or is removed, and add a migration; adding a field keeps it (3 added the
# dynamic-shape and export-cost fields, and says so: a reader of 2 knows a 3 row may hold facts it cannot show).
SCHEMA_VERSION = 3

# The exact versions and host every row carries, as the worker's environment reports them.
VERSION_FIELDS = ("python", "torch", "onnx", "onnxruntime", "onnxscript", "openvino", "numpy", "protobuf", "cpu",
                  "gpu")


@dataclasses.dataclass
class Row:
    """One cell's outcome."""

    # identity of the cell (Cell.identity())
    run_id: Optional[str] = None
    env_id: Optional[str] = None
    cell: Optional[str] = None
    case: Optional[str] = None
    variant: Optional[str] = None
    case_hash: Optional[str] = None
    exporter: Optional[str] = None
    opset_requested: Optional[int] = None
    keep_initializers_as_inputs: Optional[bool] = None
    do_constant_folding: Optional[bool] = None
    dynamic_axes: Optional[bool] = None
    runtime: Optional[str] = None
    provider: Optional[str] = None
    # where the runtime ran, when it is not the environment that exported (replay rows)
    runtime_env: Optional[str] = None
    # outcome
    status: Optional[str] = None
    stage: Optional[str] = None
    error_type: Optional[str] = None
    error: Optional[str] = None
    verdict: Optional[str] = None
    expected_status: Optional[str] = None  # "pass", or "pass|diverge" where an Expect allows several
    expectation_reason: Optional[str] = None
    # a cell not as expected is run again before it counts: what that second run gave, and where it ran
    # ("same worker": a clean slate, a fresh build and export; "fresh worker": a new process)
    attempts: Optional[int] = None
    retry_status: Optional[str] = None
    retry_error: Optional[str] = None
    retry_where: Optional[str] = None
    # what the case changed in the worker's process (default dtype, a custom symbolic, a thread, ...):
    # restored before the next case, and the worker restarted
    state_changed: Optional[str] = None
    # carried over from this run, which answered the cell with the same environment and case source
    reused_from: Optional[str] = None
    # how the latencies were measured: workers running at once (never timing at the same moment), and the
    # cores the harness may use
    concurrent_workers: Optional[int] = None
    cpu_cores: Optional[int] = None
    # the exact code the worker ran: the exporter's call and the runtime's load and run
    export_call: Optional[str] = None
    runtime_call: Optional[str] = None
    # what the export produced
    opset_actual: Optional[int] = None
    checker_ok: Optional[bool] = None
    checker_error: Optional[str] = None
    node_count: Optional[int] = None
    # the case's inputs (input_0, input_1, ...: tensors and Python numbers) the exported file does not take:
    # the exporter baked them in or dropped them (one used only for its shape), so they were not fed
    inputs_dropped: Optional[List[str]] = None
    export_s: Optional[float] = None
    # the export's cost: the file's bytes (with external data), and the worker's peak memory during the export above
    # what it held before, in MB (the kernel's peak-RSS mark, reset before the export: torch's C++ allocations count)
    onnx_bytes: Optional[int] = None
    export_peak_mb: Optional[float] = None
    # dynamic shapes: the axes the export was asked to keep dynamic ({"input_0": {"0": "batch", "1": "seq"}}: the
    # case's Case.dynamic, or dim 0 of every input for a plain dynamic_axes=True), whether the file kept all of
    # them symbolic (None: none asked), those it baked ("input_0 axis 1 (seq) = 8"), and the case's other input
    # sets (its shapes()) that ran and agreed with eager, by their shapes (one that did not is the batch-fail's error)
    dynamic_declared: Optional[Dict[str, Dict[str, str]]] = None
    dynamic_kept: Optional[bool] = None
    dynamic_baked: Optional[List[str]] = None
    extra_shapes: Optional[List[str]] = None
    # where a dynamo export failed: torch.export alone (the exporter's first step, with the declared Dims), strict
    # and non-strict where the release has both: "pass", or the error, so "torch.export fails" is told apart from
    # "the ONNX conversion fails" without parsing messages; the code that ran (not run for the operator corpus)
    torch_export_strict: Optional[str] = None
    torch_export_nonstrict: Optional[str] = None
    torch_export_call: Optional[str] = None
    # the exported file's sha256 as its export wrote it (also in its sidecar): a file that no longer has it is
    # refused (load-fail, ExportChanged), here and in replay
    export_sha256: Optional[str] = None
    # numbers
    max_abs_err: Optional[float] = None
    max_rel_err: Optional[float] = None
    min_passing_atol: Optional[float] = None
    # outputs that are NaN at the same place in eager PyTorch and the runtime: equal, and counted here
    nan_count: Optional[int] = None
    atol: Optional[float] = None
    rtol: Optional[float] = None
    batch_sizes: Optional[List[int]] = None
    latency_ms: Optional[float] = None
    latency_p90_ms: Optional[float] = None
    eager_ms: Optional[float] = None
    eager_p90_ms: Optional[float] = None
    # how latency_ms was taken: "run" (arrays in and out of session.run), "io-binding" (inputs and outputs
    # on the device, the device synchronised after each run)
    latency_method: Optional[str] = None
    gpu_node_share: Optional[float] = None
    provider_node_share: Optional[float] = None
    # where the share comes from ("session log": onnxruntime's partitioner; "profile": its profiler), and
    # the model's nodes onnxruntime left on the CPU, "OpType (name)"
    placement_source: Optional[str] = None
    cpu_nodes: Optional[List[str]] = None
    duration_s: Optional[float] = None
    # seconds this cell spent in each stage it entered ({"build": ..., "export": ..., "load": ..., "run": ...}):
    # where a corpus's time goes (an export made for an earlier row of the same file counts ~0 here)
    stage_s: Optional[Dict[str, float]] = None
    seed_claims: Optional[List[str]] = None
    # the runtime's own versions: the package that ran the cell, and the onnx/onnxruntime of
    # the environment it ran in (the exporting one's, except in replay rows)
    runtime_version: Optional[str] = None
    runtime_onnx: Optional[str] = None
    runtime_onnxruntime: Optional[str] = None
    # every runtime version key of that environment ({"onnx": ..., "onnxruntime": ..., "openvino": ...}; each
    # runtime adapter declares its keys): what Expect's runtime-side filters read
    runtime_versions: Optional[Dict[str, Optional[str]]] = None
    # exact versions and host of the exporting environment
    python: Optional[str] = None
    torch: Optional[str] = None
    onnx: Optional[str] = None
    onnxruntime: Optional[str] = None
    onnxscript: Optional[str] = None
    openvino: Optional[str] = None  # where the environment has it (rows before 2026-12 do not say)
    numpy: Optional[str] = None
    protobuf: Optional[str] = None
    cpu: Optional[str] = None
    gpu: Optional[str] = None
    finished_at: Optional[str] = None
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def for_cell(cls, cell: Cell, versions: Optional[Dict[str, Any]] = None, **fields: Any) -> "Row":
        """A row that answers ``cell``, carrying the exporting environment's versions."""
        row = cls(**dict(cell.identity(), **fields))
        for key in VERSION_FIELDS:
            setattr(row, key, (versions or {}).get(key))
        return row

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Row":
        """A row from a decoded line, migrated to this schema; unknown keys (newer minor writers) are dropped."""
        data = migrate(data)
        missing = [name for name in REQUIRED_FIELDS if data.get(name) is None]
        if missing:
            raise ValueError("missing fields: %s" % ", ".join(missing))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# A row without these cannot be placed in the matrix.
REQUIRED_FIELDS = ("env_id", "cell", "case", "variant", "exporter", "runtime", "status")

ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))
INT_FIELDS = ("opset_requested", "opset_actual", "node_count", "attempts", "concurrent_workers", "cpu_cores",
              "nan_count", "onnx_bytes")


def _from_1(data: Dict[str, Any]) -> Dict[str, Any]:
    """Version 1 had no runtime-side versions: a native row's runtime ran in its own environment."""
    data = dict(data)
    if not data.get("runtime_env"):
        data.setdefault("runtime_onnx", data.get("onnx"))
        data.setdefault("runtime_onnxruntime", data.get("onnxruntime"))
        if data.get("runtime_version") is None:
            data["runtime_version"] = {"onnxruntime": data.get("onnxruntime"), "reference": data.get("onnx"),
                                       "caffe2": data.get("torch")}.get(data.get("runtime"))
    data["schema_version"] = 2
    return data


def _from_2(data: Dict[str, Any]) -> Dict[str, Any]:
    """Version 2 had no dynamic-shape or export-cost fields: they are None (not measured), nothing else changes."""
    return dict(data, schema_version=3)


MIGRATIONS: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {1: _from_1, 2: _from_2}


def migrate(data: Dict[str, Any]) -> Dict[str, Any]:
    """Bring a row of an older schema up to this one; ValueError for one this harness cannot read."""
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("schema_version %r is not a schema version" % (version,))
    if version > SCHEMA_VERSION:
        raise ValueError("schema_version %d is newer than this harness reads (%d); upgrade the matrix to read it"
                         % (version, SCHEMA_VERSION))
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise ValueError("schema_version %d is older than this harness can migrate" % version)
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    return data
