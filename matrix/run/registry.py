"""The registry pass: for every op case, the ATen ops it becomes and what the release's exporters registered for
them, read by a worker inside the environment (matrix/worker/registry.py) and written as one small file.

It uses the run's own worker (``WorkerProcess``: its timeouts, memory limit, process group and log), loading only
the op corpus. Cases go in chunks; a worker that dies or hangs on a chunk is restarted and the chunk retried one
case at a time, so a case that kills the tracer costs that case only (recorded with the reason).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from matrix.paths import CASES_DIR
from matrix.results.registry import write_registry
from matrix.run.worker_process import WorkerDied, WorkerProcess, WorkerTimeout, default_memory_limit_mb
from matrix.wire.opcases import op_cases

OPS_DIR = CASES_DIR / "ops"
CHUNK = 100  # cases a request: round trips are cheap, but a death costs a chunk's retry
START_TIMEOUT_S = 600.0  # loading 2,290 generated cases and torch on a busy machine
CHUNK_TIMEOUT_S = 600.0
LOWEST_OPSET = 7  # the TorchScript exporter's lowest (opsets 7 and 8 take opset 9's functions up)


class RegistryPass:
    """One environment's pass: a worker, restarted when a case takes it down."""

    def __init__(self, python: str, env_id: str, out: Path, log: Callable[[str], None] = print) -> None:
        self.python, self.env_id, self.out, self.log = python, env_id, Path(out), log
        self.worker: WorkerProcess | None = None
        self.hello: dict[str, Any] = {}
        self.starts = 0

    def _worker(self) -> WorkerProcess:
        if self.worker is None:
            scratch = self.out / "registry" / f".scratch-{self.env_id}"
            worker = WorkerProcess(self.python, [OPS_DIR], scratch, self.out / "registry" / f"{self.env_id}.log",
                                   memory_limit_mb=default_memory_limit_mb(), planned=["torchscript"])
            self.hello = worker.start(START_TIMEOUT_S)
            self.worker, self.starts = worker, self.starts + 1
        return self.worker

    def opsets(self) -> list[int]:
        caps = (self.hello.get("capabilities") or {}).get("exporters", {}).get("torchscript", {})
        return list(range(LOWEST_OPSET, int(caps.get("max_opset") or 9) + 1))

    def ask(self, cases: list[str]) -> dict[str, Any]:
        """One request; a death or a hang is retried case by case, the culprit recorded as an error."""
        worker = self._worker()
        request = {"type": "registry", "key": f"registry/{cases[0]}", "cases": cases, "opsets": self.opsets()}
        try:
            return worker.run_cell(request, CHUNK_TIMEOUT_S)
        except (WorkerDied, WorkerTimeout) as exc:
            worker.kill()
            self.worker = None
            if len(cases) == 1:
                return {"ops": {cases[0]: {"error": f"worker: {exc}"}}, "symbolics": {}, "torchlib": []}
            self.log(f"{self.env_id}: the worker stopped on cases {cases[0]} .. {cases[-1]} ({exc}); one by one")
            return merge([self.ask([case]) for case in cases])

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None


def merge(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The answers of several requests as one: cases, symbolics and torchlib's names united; the registries'
    descriptions from the first answer that has them."""
    merged: dict[str, Any] = {"ops": {}, "symbolics": {}, "torchlib": None, "torchscript_registry": None,
                              "torchlib_registry": None, "torchlib_size": None, "python": None}
    torchlib: set[str] = set()
    for answer in answers:
        merged["ops"].update(answer.get("ops") or {})
        merged["symbolics"].update(answer.get("symbolics") or {})
        if answer.get("torchlib") is not None:
            torchlib.update(answer["torchlib"])
            merged["torchlib"] = []
        for key in ("torchscript_registry", "torchlib_registry", "torchlib_size", "python"):
            if merged.get(key) is None and answer.get(key) is not None:
                merged[key] = answer[key]
    if merged["torchlib"] is not None:
        merged["torchlib"] = sorted(torchlib)
    return merged


def run_registry(python: str, env_id: str, out: Path, names: list[str] | None = None,
                 log: Callable[[str], None] = print) -> tuple[Path, dict[str, Any]]:
    """Run the pass for the op cases (``names``: only the cases of these OpInfo names) in ``python``'s
    environment and write ``out/registry/<env>.registry.json.gz``; returns its path and a summary."""
    started = time.monotonic()
    cases = [case for case, _, _ in op_cases(str(OPS_DIR))]
    if names:
        cases = [c for c in cases if any(c == n or c.startswith(n + ".") for n in names)]
    worker = RegistryPass(python, env_id, out, log)
    try:
        answers = [worker.ask(cases[i:i + CHUNK]) for i in range(0, len(cases), CHUNK)]
        opsets = worker.opsets()
        versions = worker.hello.get("versions") or {}
    finally:
        worker.close()
    facts = merge(answers)
    facts.update(opsets=opsets, torch=str(versions.get("torch") or "?"), onnxscript=versions.get("onnxscript"),
                 seconds=round(time.monotonic() - started, 1), worker_starts=worker.starts,
                 method="torch.jit.trace of each frozen sample; aten:: node kinds, in-place '_' dropped")
    path = write_registry(out, env_id, facts)
    traced = sum(1 for f in facts["ops"].values() if "aten" in f)
    return path, {"cases": len(cases), "traced": traced, "aten_ops": len(facts["symbolics"]),
                  "seconds": facts["seconds"], "worker_starts": worker.starts}
