"""The result row and its statuses: the wire format shared by worker and host.

Stdlib only, Python 3.7 syntax: the host imports this module too.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, Dict, List, Optional

# Bump when a field changes meaning or is removed; adding a field keeps the version.
SCHEMA_VERSION = 1


class Status(str, enum.Enum):
    """How far a cell got; the first failing stage names it."""

    PASS = "pass"
    BUILD_FAIL = "build-fail"
    EXPORT_FAIL = "export-fail"
    LOAD_FAIL = "load-fail"
    RUN_FAIL = "run-fail"
    DIVERGE = "diverge"
    BATCH_FAIL = "batch-fail"
    CRASH = "crash"
    TIMEOUT = "timeout"
    SKIP = "skip"


class Verdict(str, enum.Enum):
    AS_EXPECTED = "as-expected"
    REGRESSION = "regression"
    UNEXPECTED_PASS = "unexpected-pass"


# Stages in pipeline order; a row's ``stage`` is the last one entered.
STAGES = ("plan", "build", "export", "check", "load", "run", "compare", "batch", "time", "place")

EXPORTERS = ("torchscript", "dynamo")

# The names users pass to --runtimes, and the (runtime, provider) columns they select.
RUNTIMES = {
    "ort-cpu": ("onnxruntime", "CPUExecutionProvider"),
    "ort-cuda": ("onnxruntime", "CUDAExecutionProvider"),
    "caffe2": ("caffe2", "CPU"),
    "reference": ("reference", "onnx.reference"),
}
DEFAULT_RUNTIMES = ("ort-cpu", "ort-cuda", "caffe2", "reference")
DEFAULT_OPSETS = (9, 11, 18)

# Export options that form an axis of the matrix (a case may sweep them).
EXPORT_OPTIONS = ("keep_initializers_as_inputs", "do_constant_folding", "dynamic_axes")


@dataclasses.dataclass
class Row:
    """One cell's outcome: flat, JSON-ready, one line of a results file."""

    # identity of the cell
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
    # outcome
    status: Optional[str] = None
    stage: Optional[str] = None
    error_type: Optional[str] = None
    error: Optional[str] = None
    verdict: Optional[str] = None
    expected_status: Optional[str] = None
    expectation_reason: Optional[str] = None
    # what the export produced
    opset_actual: Optional[int] = None
    checker_ok: Optional[bool] = None
    checker_error: Optional[str] = None
    node_count: Optional[int] = None
    export_s: Optional[float] = None
    # numbers
    max_abs_err: Optional[float] = None
    max_rel_err: Optional[float] = None
    min_passing_atol: Optional[float] = None
    atol: Optional[float] = None
    rtol: Optional[float] = None
    batch_sizes: Optional[List[int]] = None
    latency_ms: Optional[float] = None
    latency_p90_ms: Optional[float] = None
    eager_ms: Optional[float] = None
    eager_p90_ms: Optional[float] = None
    gpu_node_share: Optional[float] = None
    provider_node_share: Optional[float] = None
    # where the runtime ran, when it is not the environment that exported (replay rows)
    runtime_env: Optional[str] = None
    runtime_version: Optional[str] = None
    duration_s: Optional[float] = None
    seed_claims: Optional[List[str]] = None
    # exact versions and host
    python: Optional[str] = None
    torch: Optional[str] = None
    onnx: Optional[str] = None
    onnxruntime: Optional[str] = None
    numpy: Optional[str] = None
    protobuf: Optional[str] = None
    cpu: Optional[str] = None
    gpu: Optional[str] = None
    finished_at: Optional[str] = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Row":
        """Build a row from a decoded line; unknown keys (from newer minor writers) are dropped."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError("schema_version %r, this harness reads %d" % (version, SCHEMA_VERSION))
        missing = [name for name in REQUIRED_FIELDS if data.get(name) is None]
        if missing:
            raise ValueError("missing fields: %s" % ", ".join(missing))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# A row without these cannot be placed in the matrix.
REQUIRED_FIELDS = ("env_id", "cell", "case", "variant", "exporter", "runtime", "status")

ROW_FIELDS = tuple(f.name for f in dataclasses.fields(Row))


def cell_id(case: str, variant: str, exporter: str, opset: int, options: Dict[str, Any],
            runtime: str, provider: str) -> str:
    """A cell's stable key: resuming, merging shards and comparing runs all match on it."""
    opts = ",".join("%s=%s" % (k, options[k]) for k in EXPORT_OPTIONS if options.get(k) is not None)
    return "/".join([case, variant, exporter, "opset%d" % opset, opts or "default", runtime, provider])
