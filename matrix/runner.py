"""Run one environment's cells through a long-lived worker, surviving whatever the cells do.

A cell that kills the worker becomes a ``crash`` row with the signal; one that runs past
its limit becomes ``timeout`` and the worker's process tree is killed. Either way the
worker is restarted and the next cell runs. Rows are appended as they come, so a rerun
of the same command resumes where the last one stopped.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from matrix.expectations import judge
from matrix.plan import Selection, SelectionError, build_key, export_key, plan_cells
from matrix.store import (ResultsError, RunDir, append_row, claim_run, list_runs, read_json, read_rows,
                          write_json)
from matrix.worker.schema import RUNTIMES, Row, Status, cell_id
from matrix.worker_process import WorkerDied, WorkerProcess, WorkerTimeout

START_TIMEOUT_S = 300.0  # importing torch on a cold disk is slow
MAX_IMPORT_DEATHS = 5
# A death in these stages happened before the runtime was involved: every cell sharing the
# export would die the same way, so they get the same row instead of another crash (a death
# in build is shared wider still: by every cell of the case variant).
EXPORT_STAGES = ("export", "check")


class EnvironmentBroken(RuntimeError):
    """The worker cannot start in this environment at all."""


class CorpusError(ValueError):
    """The corpus as a whole cannot run (two cases with one id): nothing runs."""


def default_memory_limit_mb() -> int:
    """3/4 of physical memory: a runaway case fails its cell, not the machine. None with an
    NVIDIA GPU: CUDA reserves far more address space than it uses, and RLIMIT_AS breaks it."""
    if Path("/dev/nvidiactl").exists():
        return 0
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.75 / 2 ** 20)


@dataclasses.dataclass
class EnvOutcome:
    env_id: str
    run_id: str
    rows_file: Path
    planned: int = 0
    ran: int = 0
    resumed: int = 0
    statuses: Counter = dataclasses.field(default_factory=Counter)
    verdicts: Counter = dataclasses.field(default_factory=Counter)
    broken_cases: list[str] = dataclasses.field(default_factory=list)
    wall_s: float = 0.0


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def host_row(cell: dict[str, Any], case: dict[str, Any], versions: dict[str, Any], status: Status,
             stage: str | None, error: str, error_type: str) -> dict[str, Any]:
    """A row for a cell the worker could not report on (it died or hung)."""
    options = cell.get("options") or {}
    meta = case.get("meta") or {}
    row = Row(cell=cell["cell"], case=cell["case"], variant=cell["variant"], case_hash=case.get("case_hash"),
              exporter=cell["exporter"], opset_requested=cell["opset"], runtime=cell["runtime"],
              provider=cell["provider"], status=status.value, stage=stage, error=error, error_type=error_type,
              seed_claims=list(meta.get("seed") or []), atol=meta.get("atol"), rtol=meta.get("rtol"),
              **{k: options.get(k) for k in ("keep_initializers_as_inputs", "do_constant_folding", "dynamic_axes")})
    for key in ("python", "torch", "onnx", "onnxruntime", "numpy", "protobuf", "cpu", "gpu"):
        setattr(row, key, versions.get(key))
    return row.to_dict()


def _progress(env_id: str, index: int, total: int, cell: dict[str, Any], row: dict[str, Any], stream=sys.stderr) -> None:
    width = len(str(total))
    provider = cell["provider"].replace("ExecutionProvider", "")
    what = f"{cell['case']}/{cell['variant']} {cell['exporter']} opset{cell['opset']} {cell['runtime']}/{provider}"
    tail = row.get("status", "?")
    if row.get("verdict") and row["verdict"] != "as-expected":
        tail += f" ({row['verdict']})"
    print(f"[{env_id} {index:>{width}}/{total}] {what:<64} {tail} {row.get('duration_s') or 0:.1f}s",
          file=stream, flush=True)


class EnvRunner:
    def __init__(self, env_id: str, python: str | Path, out: Path, selection: Selection, case_dirs: list[Path],
                 timeout_s: float = 300.0, run_id: str | None = None, memory_limit_mb: int = 0,
                 time_budget_s: float = 1.0, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
                 progress: bool = True) -> None:
        self.env_id = env_id
        self.python = python
        self.out = out
        self.selection = selection
        self.case_dirs = case_dirs
        self.timeout_s = timeout_s
        self.run_id = run_id
        self.memory_limit_mb = memory_limit_mb
        self.time_budget_s = time_budget_s
        self.log = log
        self.progress = progress
        self.exclude: list[str] = []
        self.hello: dict[str, Any] = {}
        self.worker: WorkerProcess | None = None

    def _start(self, run) -> WorkerProcess:
        """A ready worker; a case whose import kills the worker is excluded and named."""
        for _ in range(MAX_IMPORT_DEATHS + 1):
            worker = WorkerProcess(self.python, self.case_dirs, run.exports_dir(self.env_id), run.log_file(self.env_id),
                                   self.exclude, self.memory_limit_mb, self.time_budget_s)
            try:
                self.hello = worker.start(START_TIMEOUT_S)
                self.worker = worker
                return worker
            except WorkerDied as died:
                if died.fatal:
                    raise CorpusError(str(died)) from None
                if died.importing and died.importing not in self.exclude:
                    self.log(f"[{self.env_id}] case {died.importing!r} killed the worker while importing "
                             f"({died}); running the others without it")
                    self.exclude.append(died.importing)
                    continue
                raise EnvironmentBroken(f"[{self.env_id}] the worker did not start: {died}; "
                                        f"see {run.log_file(self.env_id)}") from None
            except WorkerTimeout as hung:
                raise EnvironmentBroken(f"[{self.env_id}] the worker did not start: {hung}") from None
        raise EnvironmentBroken(f"[{self.env_id}] too many cases kill the worker on import: {', '.join(self.exclude)}")

    def run(self) -> EnvOutcome:
        started = time.monotonic()
        with claim_run(self.out, self.env_id, self.selection.to_dict(), self.run_id) as run:
            outcome = EnvOutcome(self.env_id, run.run_id, run.rows_file(self.env_id))
            self._start(run)
            try:
                self._run_cells(run, outcome)
            finally:
                if self.worker is not None:
                    self.worker.close()
        outcome.wall_s = time.monotonic() - started
        return outcome

    def _run_cells(self, run, outcome: EnvOutcome) -> None:
        catalogue = self.hello["catalogue"]
        versions = self.hello["versions"]
        write_json(run.catalogue_file(self.env_id), {"env_id": self.env_id, "versions": versions,
                                                     "capabilities": self.hello["capabilities"],
                                                     "cases": catalogue})
        cases = {c["id"]: c for c in catalogue}
        for case in catalogue:
            if case.get("error"):
                outcome.broken_cases.append(case["error"])
                self.log(f"[{self.env_id}] case skipped: {case['error']}")
        cells = plan_cells(catalogue, self.selection)
        if not cells:
            known = ", ".join(c["id"] for c in catalogue if not c.get("error")) or "none"
            raise SelectionError(f"--cases {self.selection.cases!r} matches no case (cases: {known})")
        jobs = [({"type": "cell", "cell": cell}, cell) for cell in cells]
        run.set_env_state(self.env_id, status="running", planned=len(cells), started=_utc_now(),
                          python=str(self.python), versions=versions)
        self.run_jobs(run, run.rows_file(self.env_id), jobs, cases, outcome)
        run.set_env_state(self.env_id, status="complete", done=len(cells), finished=_utc_now())

    def run_jobs(self, run, rows_file: Path, jobs: list[tuple[dict[str, Any], dict[str, Any]]],
                 cases: dict[str, dict[str, Any]], outcome: EnvOutcome) -> None:
        """Send each job not already in ``rows_file`` to the worker; append a row for each, whatever happens."""
        versions = self.hello["versions"]
        existing, problems = read_rows(rows_file) if rows_file.exists() else ([], [])
        for problem in problems:
            self.log(f"[{self.env_id}] {problem}")
        done = {r["cell"] for r in existing}
        todo = [(request, cell) for request, cell in jobs if cell["cell"] not in done]
        outcome.planned, outcome.resumed = len(jobs), len(jobs) - len(todo)
        if outcome.resumed:
            self.log(f"[{self.env_id}] resuming run {run.run_id}: {outcome.resumed} of {len(jobs)} cells already done")
        poisoned: dict[str, dict[str, Any]] = {}
        for index, (request, cell) in enumerate(todo, outcome.resumed + 1):
            case = cases.get(cell["case"]) or {}
            keys = (export_key(cell), build_key(cell))
            first = poisoned.get(keys[0]) or poisoned.get(keys[1])
            if first is not None:
                row = host_row(cell, case, versions, Status(first["status"]), first["stage"],
                               f"{first['error']} (in cell {first['cell']}, which shares this build or export; not retried)",
                               first["error_type"])
            else:
                limit = float((case.get("meta") or {}).get("timeout") or self.timeout_s)
                try:
                    row = self.worker.run_cell(request, limit)
                except (WorkerDied, WorkerTimeout) as failure:
                    died = isinstance(failure, WorkerDied)
                    status = Status.CRASH if died else Status.TIMEOUT
                    row = host_row(cell, case, versions, status, failure.stage, str(failure),
                                   "WorkerDied" if died else "Timeout")
                    if failure.stage == "build":  # every cell of this case variant would die the same way
                        poisoned[keys[1]] = row
                    elif failure.stage in EXPORT_STAGES:  # every runtime of this export would
                        poisoned[keys[0]] = row
                    self._start(run)
            row.update(run_id=run.run_id, env_id=cell.get("env_id", self.env_id), finished_at=_utc_now())
            if cell.get("runtime_env"):
                row["runtime_env"] = cell["runtime_env"]
            row.update(judge(row, (case.get("meta") or {}).get("expect") or []))
            append_row(rows_file, row)
            outcome.ran += 1
            outcome.statuses[row["status"]] += 1
            outcome.verdicts[row["verdict"]] += 1
            if self.progress:
                _progress(self.env_id, index, len(jobs), cell, row)
        # the verdicts of resumed rows count too: the run's outcome is all of its cells
        wanted = {cell["cell"] for _, cell in jobs}
        for row in existing:
            if row["cell"] in wanted:
                outcome.statuses[row["status"]] += 1
                outcome.verdicts[row.get("verdict") or "?"] += 1

    def replay(self) -> list[EnvOutcome]:
        """Run every other environment's exported files with this environment's runtimes.

        A file that fails everywhere is the exporter's bug; one that fails only on its own
        environment's runtime is the runtime's. Rows go beside the exporting environment's
        own, in its newest run that has exports, as ``<env>.replay.jsonl``.
        """
        outcomes = []
        for env_id, run in latest_exports(self.out, exclude=self.env_id):
            outcome = EnvOutcome(env_id, run.run_id, run.path / f"{env_id}.replay.jsonl")
            jobs = replay_jobs(run.exports_dir(env_id), env_id, self.env_id, self.selection)
            if not jobs:
                continue
            started = time.monotonic()
            if self.worker is None:
                self._start(run)
            catalogue = read_json(run.catalogue_file(env_id)) or {}
            cases = {c["id"]: c for c in catalogue.get("cases", []) if isinstance(c, dict) and "id" in c}
            self.run_jobs(run, outcome.rows_file, jobs, cases, outcome)
            outcome.wall_s = time.monotonic() - started
            outcomes.append(outcome)
        return outcomes

    def run_replay(self) -> list[EnvOutcome]:
        try:
            return self.replay()
        finally:
            if self.worker is not None:
                self.worker.close()


def latest_exports(out: Path, exclude: str) -> list[tuple[str, RunDir]]:
    """(env_id, run) for each environment's newest run that kept exported files."""
    found: dict[str, RunDir] = {}
    for run in list_runs(out):
        exports = run.path / "exports"
        if exports.is_dir():
            for folder in exports.iterdir():
                if folder.is_dir() and folder.name != exclude:
                    found[folder.name] = run
    return sorted(found.items())


def replay_jobs(folder: Path, env_id: str, runtime_env: str, selection: Selection) -> list[tuple[dict, dict]]:
    """One job per successful export × selected runtime, keyed apart from the native cells."""
    jobs = []
    for sidecar in sorted(folder.glob("*.json")):
        try:
            exported = read_json(sidecar)
        except ResultsError:
            continue
        if not isinstance(exported, dict) or not exported.get("ok") or "case" not in exported:
            continue
        for name in selection.runtimes:
            runtime, provider = RUNTIMES[name]
            key = cell_id(exported["case"], exported["variant"], exported["exporter"], exported["opset"],
                          exported.get("options") or {}, runtime, provider) + f"@{runtime_env}"
            cell = {"cell": key, "case": exported["case"], "variant": exported["variant"],
                    "exporter": exported["exporter"], "opset": exported["opset"],
                    "options": exported.get("options") or {}, "runtime": runtime, "provider": provider,
                    "env_id": env_id, "runtime_env": runtime_env}
            jobs.append(({"type": "replay", "export": str(sidecar), "cell": key, "runtime": runtime,
                          "provider": provider, "runtime_env": runtime_env}, cell))
    return jobs
