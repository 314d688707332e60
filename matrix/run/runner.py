"""Run one environment's cells through a long-lived worker, surviving whatever the cells do.

A cell that kills the worker becomes a ``crash`` row with the signal; one that runs past
its limit becomes ``timeout`` and the worker's process tree is killed. Either way the
worker is restarted and the next cell runs. A cell that is not as its case expects is
run once more, in a fresh worker, before it is called a regression: if the two runs
disagree the row says ``flaky`` and keeps both. Rows are appended as they come, so a
rerun of the same command resumes where the last one stopped, and a finished run whose
environment and cases are unchanged is not run again (see reuse.py).

Cells that cannot exist here (no dynamo exporter in torch 1.4, no GPU, an opset above the
exporter's maximum) are decided once per column from the worker's probes and recorded once,
in ``<env>.skips.json``: they cost no row, no time and no line.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

from matrix.results.provenance import identity
from matrix.results.store import (
    ResultsError,
    RunDir,
    StorageError,
    append_row,
    append_rows,
    claim_run,
    read_json,
    read_rows,
    sync_file,
    write_json,
)
from matrix.run.plan import Selection, SelectionError, plan_cells, skip_reason
from matrix.run.reuse import carry_exports, reusable_rows, up_to_date
from matrix.run.worker_process import WorkerDied, WorkerProcess, WorkerTimeout
from matrix.wire import Cell, Row, Status, Verdict, judge

START_TIMEOUT_S = 300.0  # importing torch on a cold disk is slow
MAX_IMPORT_DEATHS = 5
# A death in these stages happened before the runtime was involved: every cell sharing the
# export would die the same way, so they get the same row instead of another crash (a death
# in build is shared wider still: by every cell of the case variant).
EXPORT_STAGES = ("export", "check")
NOT_AS_EXPECTED = (Verdict.REGRESSION.value, Verdict.UNEXPECTED_PASS.value)


class EnvironmentBroken(RuntimeError):
    """The worker cannot start in this environment at all."""


class CorpusError(ValueError):
    """The corpus as a whole cannot run (two cases with one id): nothing runs."""


class Stopped(BaseException):
    """The run was stopped (Ctrl-C, SIGTERM) while this environment was working: no worker is restarted."""


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
    reused: int = 0
    skipped: int = 0
    confirmed: int = 0
    up_to_date: bool = False
    statuses: Counter = dataclasses.field(default_factory=Counter)
    verdicts: Counter = dataclasses.field(default_factory=Counter)
    broken_cases: list[str] = dataclasses.field(default_factory=list)
    start_s: dict[str, float] = dataclasses.field(default_factory=dict)
    wall_s: float = 0.0


@dataclasses.dataclass
class Job:
    """A cell and how to ask the worker for it (a corpus cell, or a replay of an exported file)."""

    cell: Cell
    kind: str = "cell"
    export: str | None = None
    case_hash: str | None = None  # the case source the answer must come from (None: any)
    env_id: str | None = None  # whose row it is, when not the runner's environment (a replay)

    def request(self, fresh: bool = False) -> dict[str, Any]:
        request = {"type": self.kind, "key": self.cell.key, "cell": self.cell.to_dict()}
        if self.export:
            request["export"] = self.export
        if fresh:
            request["fresh"] = True
        return request


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (then arrive as usual)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class Slots:
    """How many workers may run at once, across the environments of one command (--jobs).

    An environment holds one slot while it runs; when no other environment is waiting for one, it
    may take more for extra workers (lanes), each taking whole cases, so one slow environment does
    not leave a core idle.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.waiting = 0  # environments not started yet: they come before extra lanes
        self.lock = threading.Lock()

    def take(self, extra: bool = False) -> bool:
        with self.lock:
            if self.used >= self.total or (extra and self.waiting):
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self.lock:
            self.used -= 1

    def in_use(self) -> int:
        with self.lock:
            return self.used


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def settle(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One row from a cell's two runs: confirmed when they agree, ``flaky`` (both kept) when not."""
    row = dict(first, attempts=2, retry_status=second.get("status"), retry_error=second.get("error"))
    if second.get("status") != first.get("status"):
        row.update(status=Status.FLAKY.value,
                   error=f"first run: {first.get('status')}: {first.get('error') or '-'}\n"
                         f"second run, in a fresh worker: {second.get('status')}: {second.get('error') or '-'}")
    return row


def count(outcome: EnvOutcome, row: dict[str, Any]) -> None:
    outcome.statuses[row["status"]] += 1
    outcome.verdicts[row.get("verdict") or "?"] += 1


def _column(cell: Cell) -> tuple:
    """A column of the matrix: where a cell can or cannot exist does not depend on the case."""
    return (cell.exporter, cell.opset, cell.runtime, cell.provider, cell.runtime_env)


def skips_file(rows_file: Path) -> Path:
    return rows_file.with_suffix(".skips.json")


def outcome_of(run: RunDir, env_id: str, rows_file: Path) -> EnvOutcome:
    """The outcome of a finished run, read back (what an up-to-date command reports)."""
    outcome = EnvOutcome(env_id, run.run_id, rows_file, up_to_date=True)
    rows, _ = read_rows(rows_file)
    for row in rows:
        count(outcome, row)
    try:
        skips = read_json(skips_file(rows_file)) or {}
    except ResultsError:
        skips = {}
    for column in skips.get("columns", []):
        outcome.statuses[Status.SKIP.value] += int(column.get("cells", 0))
        outcome.verdicts[Verdict.AS_EXPECTED.value] += int(column.get("cells", 0))
    try:
        catalogue = read_json(run.catalogue_file(env_id)) or {}
    except ResultsError:
        catalogue = {}
    outcome.broken_cases = [c["error"] for c in catalogue.get("cases", []) if isinstance(c, dict) and c.get("error")]
    outcome.planned = sum(outcome.statuses.values())
    return outcome


class Lane:
    """One worker of an environment: started, restarted after a death or a case that changed it, closed."""

    def __init__(self, runner: "EnvRunner", number: int) -> None:
        self.runner = runner
        self.number = number
        self.worker: WorkerProcess | None = None
        self.hello: dict[str, Any] = {}

    def log_file(self, run: RunDir) -> Path:
        path = run.log_file(self.runner.env_id)
        return path if self.number == 0 else path.with_name(path.name.replace(".worker.log", f".worker-{self.number}.log"))

    def start(self, run: RunDir) -> WorkerProcess:
        """A ready worker; a case whose import kills the worker is excluded and named."""
        runner = self.runner
        if runner.abort is not None and runner.abort.is_set():
            raise Stopped()
        if self.worker is not None:
            self.worker.close()
            self.worker = None
        planned = [*(() if runner.replaying else runner.selection.exporters), *runner.selection.runtimes]
        for _ in range(MAX_IMPORT_DEATHS + 1):
            worker = WorkerProcess(runner.python, runner.case_dirs, run.exports_dir(runner.env_id), self.log_file(run),
                                   runner.exclude, runner.memory_limit_mb, runner.time_budget_s, planned=planned,
                                   timing_lock=runner.out / "runs" / ".timing.lock", pythonpath=runner.pythonpath)
            try:
                self.hello = worker.start(START_TIMEOUT_S)
                self.worker = worker
                return worker
            except WorkerDied as died:
                if died.fatal:
                    raise CorpusError(str(died)) from None
                if died.importing and died.importing not in runner.exclude:
                    runner.log(f"[{runner.env_id}] case {died.importing!r} killed the worker while importing "
                               f"({died}); running the others without it")
                    runner.exclude.append(died.importing)
                    continue
                raise EnvironmentBroken(f"[{runner.env_id}] the worker did not start: {died}; "
                                        f"see {self.log_file(run)}") from None
            except WorkerTimeout as hung:
                raise EnvironmentBroken(f"[{runner.env_id}] the worker did not start: {hung}") from None
        raise EnvironmentBroken(f"[{runner.env_id}] too many cases kill the worker on import: "
                                f"{', '.join(runner.exclude)}")

    def close(self, interrupted: bool = False) -> None:
        """Let the worker go: asked politely after a run, killed with its whole group at once when interrupted."""
        if self.worker is not None:
            worker, self.worker = self.worker, None
            if interrupted:
                with signals_held():  # a second Ctrl-C must not stop the killing half-way
                    worker.kill()
            else:
                worker.close()

    def attempt(self, run: RunDir, job: Job, case: dict[str, Any], versions: dict[str, Any],
                poisoned: dict[str, dict[str, Any]], fresh: bool = False) -> dict[str, Any]:
        """The worker's row for a job, or the host's when the worker died or hung on it."""
        cell = job.cell
        first = poisoned.get(cell.export_key) or poisoned.get(cell.build_key)
        if first is not None:
            return Row.for_cell(cell, versions, case_hash=job.case_hash, status=first["status"], stage=first["stage"],
                                error=f"{first['error']} (in cell {first['cell']}, which shares this build or export; "
                                      f"not retried)", error_type=first["error_type"]).to_dict()
        limit = float((case.get("meta") or {}).get("timeout") or self.runner.timeout_s)
        try:
            try:
                return self.worker.run_cell(job.request(fresh), limit)
            except WorkerDied as died:
                if died.started:
                    raise
                # it died before taking this cell up (a thread of the last case, say): not this cell's death
                self.runner.log(f"[{self.runner.env_id}] the worker died between cells ({died}); restarting it for "
                                f"{cell.key}")
                self.start(run)
                return self.worker.run_cell(job.request(fresh), limit)
        except (WorkerDied, WorkerTimeout) as failure:
            died = isinstance(failure, WorkerDied)
            row = Row.for_cell(cell, versions, case_hash=job.case_hash,
                               status=(Status.CRASH if died else Status.TIMEOUT).value, stage=failure.stage,
                               error=str(failure), error_type="WorkerDied" if died else "Timeout").to_dict()
            if failure.stage == "build":  # every cell of this case variant would die the same way
                poisoned[cell.build_key] = row
            elif failure.stage in EXPORT_STAGES:  # every runtime of this export would
                poisoned[cell.export_key] = row
            self.start(run)
            return row


class EnvRunner:
    def __init__(self, env_id: str, python: str | Path, out: Path, selection: Selection, case_dirs: list[Path],
                 timeout_s: float = 300.0, run_id: str | None = None, memory_limit_mb: int = 0,
                 time_budget_s: float = 1.0, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
                 on_cell: Callable[[str, int, int, Cell, dict], None] | None = None, fingerprint: str | None = None,
                 fresh: bool = False, slots: Slots | None = None, inherit_pythonpath: bool = False) -> None:
        self.env_id = env_id
        self.python = python
        # a --python interpreter runs as its owner runs it, PYTHONPATH included (a GPU machine's onnxruntime-gpu
        # may live there); a lineup environment has only what its pins put in it
        self.pythonpath = os.environ.get("PYTHONPATH") if inherit_pythonpath else None
        self.out = out
        self.selection = selection
        self.case_dirs = case_dirs
        self.timeout_s = timeout_s
        self.run_id = run_id
        self.memory_limit_mb = memory_limit_mb
        self.time_budget_s = time_budget_s
        self.log = log
        self.on_cell = on_cell or (lambda *args: None)
        self.fingerprint = fingerprint  # the environment's identity: rows of the same one can be reused
        self.fresh = fresh
        self.slots = slots  # None: one worker; else extra lanes when the command's slots allow
        self.exclude: list[str] = []
        self.replaying = False  # a replay worker exports nothing: it warms up its runtimes only
        self.lanes = [Lane(self, 0)]
        self.lock = threading.Lock()  # lanes share the outcome, the pending rows and the progress count
        self.abort: Any = None  # a threading.Event set when the whole run stops (parallel.py)

    @property
    def hello(self) -> dict[str, Any]:
        return self.lanes[0].hello

    @property
    def worker(self) -> WorkerProcess | None:
        return self.lanes[0].worker

    def _start(self, run: RunDir) -> WorkerProcess:
        return self.lanes[0].start(run)

    def _close(self, interrupted: bool = False) -> None:
        for lane in list(self.lanes):
            lane.close(interrupted)

    # -- one environment's corpus -----------------------------------------------------------------

    def run(self) -> EnvOutcome:
        started = time.monotonic()
        if not self.fresh and self.run_id is None:
            done = up_to_date(self.out, self.env_id, self.fingerprint, self.selection.to_dict(), self.case_dirs)
            if done is not None:
                outcome = outcome_of(done, self.env_id, done.rows_file(self.env_id))
                self.log(f"[{self.env_id}] up to date: run {done.run_id} answered these cells with this "
                         f"environment and these cases (--fresh to run them again)")
                outcome.wall_s = time.monotonic() - started
                return outcome
        with claim_run(self.out, self.env_id, self.selection.to_dict(), self.run_id, meta=identity()) as run:
            outcome = EnvOutcome(self.env_id, run.run_id, run.rows_file(self.env_id))
            try:
                self._start(run)
                outcome.start_s = dict(self.hello.get("start_s") or {})
                self._run_cells(run, outcome)
            except BaseException:
                self._close(interrupted=True)
                raise
            self._close()
        outcome.wall_s = time.monotonic() - started
        return outcome

    def _run_cells(self, run: RunDir, outcome: EnvOutcome) -> None:
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
        jobs = [Job(cell, case_hash=cases[cell.case].get("case_hash")) for cell in cells]
        run.set_env_state(self.env_id, status="running", planned=len(cells), started=_utc_now(),
                          python=str(self.python), versions=versions, fingerprint=self.fingerprint,
                          start_s=self.hello.get("start_s"))
        if not self.fresh:
            self._carry_over(run, jobs, outcome)
        self.run_jobs(run, run.rows_file(self.env_id), jobs, cases, outcome)
        rows, _ = read_rows(run.rows_file(self.env_id))
        answered = {r["cell"] for r in rows} & {job.cell.key for job in jobs}
        missing = len(jobs) - outcome.skipped - len(answered)
        if missing > 0:  # never "complete" with fewer rows than cells
            raise StorageError(f"{run.rows_file(self.env_id)}: {missing} of {len(jobs)} cells have no row after "
                               f"the run; it stays unfinished: run the same command to resume")
        run.set_env_state(self.env_id, status="complete", done=len(cells), finished=_utc_now())

    def _carry_over(self, run: RunDir, jobs: list[Job], outcome: EnvOutcome) -> None:
        """Copy the rows an earlier run of this environment wrote for cells whose case did not change."""
        source, previous = reusable_rows(self.out, self.env_id, self.fingerprint, exclude=run.run_id)
        if source is None:
            return
        already, _ = read_rows(run.rows_file(self.env_id)) if run.rows_file(self.env_id).exists() else ([], [])
        present = {r["cell"] for r in already}
        carried, stems = [], set()
        for job in jobs:
            row = previous.get(job.cell.key)
            if row is None or job.cell.key in present or not job.case_hash or row.get("case_hash") != job.case_hash:
                continue
            carried.append(dict(row, run_id=run.run_id, reused_from=row.get("reused_from") or row["run_id"]))
            stems.add(job.cell.export_stem(job.case_hash))
        if carried:
            append_rows(run.rows_file(self.env_id), carried)
            carry_exports(source, run, self.env_id, stems)
            outcome.reused = len(carried)
            self.log(f"[{self.env_id}] {len(carried)} of {len(jobs)} cells reused from run {source.run_id} "
                     f"(same environment, same case source)")

    def run_jobs(self, run: RunDir, rows_file: Path, jobs: list[Job], cases: dict[str, dict[str, Any]],
                 outcome: EnvOutcome) -> None:
        """Answer every job not already answered in ``rows_file``: skips by the host, the rest by the worker."""
        existing, problems = read_rows(rows_file) if rows_file.exists() else ([], [])  # a device: a problem
        for problem in problems:
            self.log(f"[{self.env_id}] {problem}")
        wanted = {job.cell.key: job for job in jobs}
        done: dict[str, dict[str, Any]] = {}
        stale = 0
        for row in existing:
            job = wanted.get(row["cell"])
            if job is None:
                continue
            if job.case_hash and row.get("case_hash") and row["case_hash"] != job.case_hash:
                stale += 1  # answers an older version of the case: run it again
                continue
            done[row["cell"]] = row
        try:  # columns decided not applicable in this run already: done, nothing to ask the worker
            recorded = (read_json(skips_file(rows_file)) or {}).get("columns", [])
        except ResultsError:
            recorded = []
        skip_columns = {(c.get("exporter"), c.get("opset_requested"), c.get("runtime"), c.get("provider"),
                         c.get("runtime_env")) for c in recorded if isinstance(c, dict)}
        skipped_before = [job for job in jobs if _column(job.cell) in skip_columns]
        if skipped_before:
            outcome.skipped = len(skipped_before)
            outcome.statuses[Status.SKIP.value] += len(skipped_before)
            outcome.verdicts[Verdict.AS_EXPECTED.value] += len(skipped_before)
            for job in skipped_before:
                done.setdefault(job.cell.key, None)
        pending_file = rows_file.with_suffix(".unconfirmed.jsonl")
        unconfirmed = {r["cell"]: r for r in (read_rows(pending_file)[0] if pending_file.exists() else [])
                       if r["cell"] in wanted and r["cell"] not in done}
        todo = [job for job in jobs if job.cell.key not in done and job.cell.key not in unconfirmed]
        outcome.planned = len(jobs)
        outcome.resumed = len(done) + len(unconfirmed) - outcome.reused - outcome.skipped
        if outcome.resumed > 0:
            self.log(f"[{self.env_id}] resuming run {run.run_id}: {outcome.resumed} of {len(jobs)} cells already done")
        if stale:
            self.log(f"[{self.env_id}] {stale} row(s) answer an older version of their case: running them again")
        if todo and self.worker is None:  # everything answered: no worker, no seconds spent on one
            self._start(run)
        todo = self._skip_columns(rows_file, todo, outcome) if todo else todo
        groups: collections.deque = collections.deque()
        for job in todo:  # whole cases: a case's cells share its build, its exports and its worker's state
            if not groups or groups[-1][0].cell.case != job.cell.case:
                groups.append([])
            groups[-1].append(job)
        progress = {"index": len(jobs) - len(todo) - outcome.skipped, "total": len(jobs) - outcome.skipped,
                    "synced": time.monotonic()}
        shared = (run, rows_file, pending_file, cases, outcome, unconfirmed, progress)
        extra: list[tuple[Lane, threading.Thread, list]] = []
        while True:  # the primary lane works here; extra lanes join while cases are left and slots free
            with self.lock:
                group = groups.popleft() if groups else None
            if group is None:
                break
            if groups and self.slots is not None and len(self.lanes) < len(groups) + 1 and self.slots.take(extra=True):
                lane = Lane(self, len(self.lanes))
                self.lanes.append(lane)
                failures: list = []
                thread = threading.Thread(target=self._lane, args=(lane, groups, shared, failures),
                                          name=f"{self.env_id} lane {lane.number}", daemon=True)
                thread.start()
                extra.append((lane, thread, failures))
            self._cases(self.lanes[0], [group], shared)
        for lane, thread, failures in extra:
            thread.join()
            if failures:
                raise failures[0]
        if todo:
            sync_file(rows_file)
        if unconfirmed:
            self._confirm(run, rows_file, [wanted[key] for key in unconfirmed], unconfirmed, cases,
                          self.hello.get("versions") or {}, outcome)
            pending_file.unlink(missing_ok=True)
        for row in done.values():  # the verdicts of resumed and reused rows count too: the outcome is all cells
            if row is not None:
                count(outcome, row)

    def _lane(self, lane: Lane, groups: collections.deque, shared: tuple, failures: list) -> None:
        """An extra worker of this environment: takes whole cases until none is left, then gives its slot back."""
        try:
            lane.start(shared[0])
            while True:
                with self.lock:
                    group = groups.popleft() if groups else None
                if group is None:
                    return
                self._cases(lane, [group], shared)
        except BaseException as exc:  # the primary lane raises it once every lane is done
            failures.append(exc)
        finally:
            lane.close(interrupted=bool(failures))
            with self.lock:
                self.lanes.remove(lane)
            self.slots.give()

    def _cases(self, lane: Lane, groups: list[list[Job]], shared: tuple) -> None:
        """Run whole cases on one lane; a case that changed the worker's state gets it restarted after it."""
        run, rows_file, pending_file, cases, outcome, unconfirmed, progress = shared
        poisoned: dict[str, dict[str, Any]] = {}
        for group in groups:
            changed = False
            for job in group:
                case = cases.get(job.cell.case) or {}
                versions = lane.hello.get("versions") or {}
                row = self._finalise(run, lane.attempt(run, job, case, versions, poisoned), job, case)
                changed = changed or bool(row.get("state_changed"))
                with self.lock:
                    if row["verdict"] in NOT_AS_EXPECTED:
                        append_row(pending_file, row)  # not a regression until a fresh worker agrees
                        unconfirmed[job.cell.key] = row
                    else:
                        now = time.monotonic()
                        append_row(rows_file, row, sync=now - progress["synced"] >= 0.5)  # the disk twice a second
                        progress["synced"] = now if now - progress["synced"] >= 0.5 else progress["synced"]
                        count(outcome, row)
                    outcome.ran += 1
                    progress["index"] += 1
                    index = progress["index"]
                self.on_cell(self.env_id, index, progress["total"], job.cell, row)
            if changed:
                self.log(f"[{self.env_id}] case {group[0].cell.case!r} changed the worker's global state: "
                         f"restarting the worker")
                lane.start(run)

    def _skip_columns(self, rows_file: Path, todo: list[Job], outcome: EnvOutcome) -> list[Job]:
        """Decide, once per column, the cells this environment cannot have; record each column once."""
        caps = self.hello["capabilities"]
        reasons: dict[tuple, str | None] = {}
        columns: dict[tuple, dict[str, Any]] = {}
        runnable = []
        for job in todo:
            cell = job.cell
            column = _column(cell)
            if column not in reasons:
                reasons[column] = skip_reason(cell, caps)
            if reasons[column] is None:
                runnable.append(job)
                continue
            entry = columns.setdefault(column, {"exporter": cell.exporter, "opset_requested": cell.opset,
                                                "runtime": cell.runtime, "provider": cell.provider,
                                                "runtime_env": cell.runtime_env, "reason": reasons[column],
                                                "cells": 0})
            entry["cells"] += 1
        skipped = sum(c["cells"] for c in columns.values())
        if columns:
            try:
                recorded = (read_json(skips_file(rows_file)) or {}).get("columns", [])
            except ResultsError:
                recorded = []
            write_json(skips_file(rows_file), {"env_id": todo[0].env_id or self.env_id,
                                               "columns": recorded + list(columns.values())})
            by_reason = Counter()
            for column in columns.values():
                by_reason[column["reason"]] += column["cells"]
            for reason, cells in by_reason.items():
                self.log(f"[{self.env_id}] {cells} cells not applicable here, recorded once per column: {reason}")
        if skipped:
            outcome.skipped += skipped
            outcome.statuses[Status.SKIP.value] += skipped
            outcome.verdicts[Verdict.AS_EXPECTED.value] += skipped
        return runnable

    def _finalise(self, run: RunDir, row: dict[str, Any], job: Job, case: dict[str, Any]) -> dict[str, Any]:
        row.update(run_id=run.run_id, env_id=job.env_id or self.env_id, finished_at=_utc_now(),
                   concurrent_workers=self.slots.in_use() if self.slots is not None else 1,
                   cpu_cores=len(os.sched_getaffinity(0)))
        row.update(judge(row, (case.get("meta") or {}).get("expect") or []))
        return row

    def _confirm(self, run: RunDir, rows_file: Path, jobs: list[Job], first_rows: dict[str, dict[str, Any]],
                 cases: dict[str, dict[str, Any]], versions: dict[str, Any], outcome: EnvOutcome) -> None:
        """Run each unexpected cell once more in a fresh worker, then write the settled row."""
        self.log(f"[{self.env_id}] {len(jobs)} cell(s) not as expected: running each again in a fresh worker")
        self._start(run)
        poisoned: dict[str, dict[str, Any]] = {}
        for job in jobs:
            case = cases.get(job.cell.case) or {}
            second = self._finalise(run, self.lanes[0].attempt(run, job, case, versions, poisoned, fresh=True),
                                    job, case)
            row = settle(first_rows[job.cell.key], second)
            row.update(judge(row, (case.get("meta") or {}).get("expect") or []))
            append_row(rows_file, row)
            count(outcome, row)
            outcome.confirmed += 1
            self.on_cell(self.env_id, outcome.confirmed, len(jobs), job.cell, row)

    # -- other environments' exported files ---------------------------------------------------------

    def replay(self, source: Path | None = None) -> list[EnvOutcome]:
        """Run every other environment's exported files with this environment's runtimes.

        A file that fails everywhere is the exporter's bug; one that fails only on its own
        environment's runtime is the runtime's. The files come from ``source`` (default: the out
        folder itself; ``results`` replays every era's published files); rows go into the out
        folder, in a run of the same id as the exporting one, as ``<env>.replay.jsonl``.
        """
        from matrix.results.read import Results  # pandas: only when replaying
        outcomes = []
        self.replaying = True
        for env_id, origin, folder in Results(source or self.out).exports(exclude=self.env_id):
            run = RunDir(self.out, origin.run_id)
            outcome = EnvOutcome(env_id, run.run_id, run.path / f"{env_id}.replay.jsonl")
            jobs = replay_jobs(folder, env_id, self.env_id, self.selection)
            if not jobs:
                continue
            started = time.monotonic()
            try:
                catalogue = read_json(origin.catalogue_file(env_id)) or {}
            except ResultsError as exc:
                self.log(f"[{self.env_id}] {exc}; replaying {env_id} without its expectations")
                catalogue = {}
            if run.path != origin.path:  # the out folder's report then knows the cases and their expectations
                run.path.mkdir(parents=True, exist_ok=True)
                if not (run.path / "run.json").exists():
                    write_json(run.path / "run.json", read_json(origin.path / "run.json") or {"run_id": run.run_id})
                write_json(run.path / f"{env_id}.catalogue.json", catalogue)
            cases = {c["id"]: c for c in catalogue.get("cases", []) if isinstance(c, dict) and "id" in c}
            self.run_jobs(run, outcome.rows_file, jobs, cases, outcome)
            outcome.wall_s = time.monotonic() - started
            outcomes.append(outcome)
        return outcomes

    def run_replay(self, source: Path | None = None) -> list[EnvOutcome]:
        try:
            outcomes = self.replay(source)
        except BaseException:
            self._close(interrupted=True)
            raise
        self._close()
        return outcomes


def replay_jobs(folder: Path, env_id: str, runtime_env: str, selection: Selection) -> list[Job]:
    """One job per successful export x selected runtime, keyed apart from the native cells."""
    from matrix.adapters import RUNTIMES
    pattern = re.compile(selection.cases)
    jobs = []
    for sidecar in sorted(folder.glob("*.json")):
        try:
            exported = read_json(sidecar)
        except ResultsError:
            continue
        if not isinstance(exported, dict) or not exported.get("ok") or "case" not in exported:
            continue
        if not (pattern.search(str(exported["case"])) or pattern.search(f"{exported['case']}/{exported.get('variant')}")):
            continue
        for name in selection.runtimes:
            adapter = RUNTIMES[name]
            cell = Cell(exported["case"], exported["variant"], exported["exporter"], exported["opset"],
                        adapter.runtime, adapter.provider, exported.get("options") or {}, runtime_env=runtime_env)
            jobs.append(Job(cell, kind="replay", export=str(sidecar), case_hash=exported.get("case_hash"),
                            env_id=env_id))
    return jobs
