"""Run one environment's cells through long-lived workers, surviving whatever the cells do.

A cell that kills the worker becomes a ``crash`` row with the signal; one that runs past its limit becomes
``timeout`` and the worker's process tree is killed (lanes.py); either way the next cell runs in a new worker.
A cell not as its case expects is run once more before it is called a regression (confirm.py says in which
worker); two disagreeing runs make it ``flaky``. Rows are streamed to disk as they come (never held), so the
same command resumes where the last one stopped, and a finished run whose environment and cases are unchanged
is not run again (reuse.py; ``--rerun`` names cases that are). Cells that cannot exist here cost no row
(skips.py); replay.py replays files.
"""
from __future__ import annotations

import collections
import datetime as dt
import os
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from matrix.results.provenance import identity
from matrix.results.rows import append_row, iter_rows, read_rows, sync_file
from matrix.results.store import RunDir, StorageError, claim_run, write_json
from matrix.run.confirm import FRESH_WORKER, SAME_WORKER, fresh_worker_reason
from matrix.run.jobs import EnvOutcome, Job, Pass, Target, outcome_of, settle
from matrix.run.lanes import Lane, Slots, free_cores
from matrix.run.plan import Selection, SelectionError, plan_cells
from matrix.run.reference import Reference
from matrix.run.reuse import carry_over, up_to_date
from matrix.run.skips import Skips, column
from matrix.run.worker_process import WorkerProcess
from matrix.wire import Verdict

SYNC_EVERY_S = 0.5  # rows reach the disk twice a second (and whole at the end)


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class EnvRunner:
    def __init__(self, env_id: str, python: str | Path, out: Path, selection: Selection, case_dirs: list[Path],
                 timeout_s: float = 300.0, run_id: str | None = None, memory_limit_mb: int = 0,
                 time_budget_s: float = 1.0, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
                 on_cell: Callable[[str, int, int, Any, dict], None] | None = None, fingerprint: str | None = None,
                 fresh: bool = False, slots: Slots | None = None, inherit_pythonpath: bool = False,
                 rerun: re.Pattern[str] | None = None) -> None:
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
        self.rerun = rerun  # cases whose earlier rows are not reused (--rerun)
        self.slots = slots  # None: one worker; else extra lanes when the command's slots allow
        self.exclude: list[str] = []
        self.replaying = False  # a replay worker exports nothing: it warms up its runtimes only
        self.lanes = [Lane(self, 0)]
        self.reference = Reference()  # what judges the cells of cases without expectations
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

    def note(self, message: str) -> None:
        self.log(f"[{self.env_id}] {message}")

    # -- one environment's corpus -----------------------------------------------------------------

    def run(self) -> EnvOutcome:
        started = time.monotonic()
        if not self.fresh and self.rerun is None and self.run_id is None:
            done = up_to_date(self.out, self.env_id, self.fingerprint, self.selection.to_dict(), self.case_dirs)
            if done is not None:
                outcome = outcome_of(done, self.env_id)
                self.note(f"up to date: run {done.run_id} answered these cells with this environment and these "
                          f"cases (--fresh to run them again)")
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
                self.note(f"case skipped: {case['error']}")
        cells = plan_cells(catalogue, self.selection)
        if not cells:
            known = ", ".join(c["id"] for c in catalogue if not c.get("error")) or "none"
            raise SelectionError(f"--cases {self.selection.cases!r} matches no case (cases: {known})")
        jobs = [Job(cell, case_hash=cases[cell.case].get("case_hash")) for cell in cells]
        run.set_env_state(self.env_id, status="running", planned=len(cells), started=_utc_now(),
                          python=str(self.python), versions=versions, fingerprint=self.fingerprint,
                          start_s=self.hello.get("start_s"))
        target = Target(run, self.env_id)
        if not self.fresh:
            outcome.reused = carry_over(self.out, self.env_id, self.fingerprint, target, jobs, self.rerun, self.note)
        self.run_jobs(target, jobs, cases, outcome)
        answered = {r["cell"] for r in iter_rows(target.rows)} & {job.cell.key for job in jobs}  # streamed
        missing = len(jobs) - outcome.skipped - len(answered)
        if missing > 0:  # never "complete" with fewer rows than cells
            raise StorageError(f"{target.rows}: {missing} of {len(jobs)} cells have no row after "
                               f"the run; it stays unfinished: run the same command to resume")
        run.set_env_state(self.env_id, status="complete", done=len(cells), finished=_utc_now())

    def _answered(self, target: Target, jobs: list[Job], skips: Skips, outcome: EnvOutcome) -> dict[str, Any]:
        """The jobs ``target`` answers already: a current row, or (None) a column recorded as not applicable."""
        problems: list[str] = []
        wanted = {job.cell.key: job for job in jobs}
        done: dict[str, Any] = {}
        stale = 0
        for row in iter_rows(target.rows, problems) if target.rows.exists() else ():  # streamed: never all held
            job = wanted.get(row["cell"])
            if job is None:
                continue
            if job.case_hash and row.get("case_hash") and row["case_hash"] != job.case_hash:
                stale += 1  # answers an older version of the case: run it again
                continue
            done[row["cell"]] = {"status": row["status"], "verdict": row.get("verdict")}  # what the tally needs
        for problem in problems:
            self.note(problem)
        if stale:
            self.note(f"{stale} row(s) answer an older version of their case: running them again")
        decided = skips.decided()
        skipped_before = [job for job in jobs if column(job.cell) in decided]
        outcome.count_skips(len(skipped_before))
        for job in skipped_before:
            done.setdefault(job.cell.key, None)
        return done

    def run_jobs(self, target: Target, jobs: list[Job], cases: dict[str, dict[str, Any]], outcome: EnvOutcome) -> None:
        """Answer every job ``target`` does not answer yet: skips by the host, the rest by the workers."""
        skips = Skips(target.skips)
        done = self._answered(target, jobs, skips, outcome)
        wanted = {job.cell.key: job for job in jobs}
        unconfirmed = {r["cell"]: r for r in (read_rows(target.unconfirmed)[0] if target.unconfirmed.exists() else [])
                       if r["cell"] in wanted and r["cell"] not in done}
        todo = [job for job in jobs if job.cell.key not in done and job.cell.key not in unconfirmed]
        outcome.planned = len(jobs)
        outcome.resumed = len(done) + len(unconfirmed) - outcome.reused - outcome.skipped
        if outcome.resumed > 0:
            self.note(f"resuming run {target.run.run_id}: {outcome.resumed} of {len(jobs)} cells already done")
        if todo and self.worker is None:  # everything answered: no worker, no seconds spent on one
            self._start(target.run)
        if todo:
            todo, skipped = skips.decide(todo, self.hello["capabilities"], todo[0].env_id or self.env_id, self.note)
            outcome.count_skips(skipped)
        shared = Pass(target, cases, outcome, unconfirmed, index=len(jobs) - len(todo) - outcome.skipped,
                      total=len(jobs) - outcome.skipped)
        self._dispatch(todo, shared)
        if todo:
            sync_file(target.rows)
        if unconfirmed:
            self._confirm(target, [wanted[key] for key in unconfirmed], unconfirmed, cases,
                          self.hello.get("versions") or {}, outcome)
            target.unconfirmed.unlink(missing_ok=True)
        for row in done.values():  # the verdicts of resumed and reused rows count too: the outcome is all cells
            if row is not None:
                outcome.count(row)

    def _dispatch(self, todo: list[Job], shared: Pass) -> None:
        """Whole cases to lanes: this thread works the primary lane; extra lanes join while cases are left
        and the command's slots allow (a case's cells share its build, its exports and its worker's state)."""
        groups: collections.deque = collections.deque()
        for job in todo:
            if not groups or groups[-1][0].cell.case != job.cell.case:
                groups.append([])
            groups[-1].append(job)
        extra: list[tuple[threading.Thread, list]] = []
        while True:
            with self.lock:
                group = groups.popleft() if groups else None
            if group is None:
                break
            if groups and self._worth_a_lane(groups, shared) and self.slots.take(extra=True):
                lane = Lane(self, len(self.lanes))
                self.lanes.append(lane)
                failures: list = []
                thread = threading.Thread(target=self._lane, args=(lane, groups, shared, failures),
                                          name=f"{self.env_id} lane {lane.number}", daemon=True)
                thread.start()
                extra.append((thread, failures))
            self._cases(self.lanes[0], [group], shared)
        for thread, failures in extra:
            thread.join()
            if failures:
                raise failures[0]

    def _worth_a_lane(self, groups: collections.deque, shared: Pass) -> bool:
        """Whether another worker pays for its start: half the cells left (it would take about half) must
        cost more than a worker's start here, as this environment's primary worker measured both."""
        if self.slots is None or len(self.lanes) >= len(groups) + 1:
            return False
        per_cell = shared.seconds_per_cell()
        timings = self.hello.get("start_s") or {}
        # spawn_to_hello is the whole start as the host saw it; the rest are its parts, as the worker saw them
        start_s = timings.get("spawn_to_hello") or sum(v for v in timings.values() if isinstance(v, (int, float)))
        if per_cell is None or not start_s:
            return False  # not measured yet: the next case decides
        with self.lock:
            left = sum(len(group) for group in groups)
        return left * per_cell / 2 > start_s and free_cores() >= 0.5  # and a core is free for it

    def _lane(self, lane: Lane, groups: collections.deque, shared: Pass, failures: list) -> None:
        """An extra worker of this environment: takes whole cases until none is left, then gives its slot back."""
        try:
            lane.start(shared.target.run)
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

    def _cases(self, lane: Lane, groups: list[list[Job]], shared: Pass) -> None:
        """Run whole cases on one lane; a case that changed the worker's state gets it restarted after it."""
        run, target = shared.target.run, shared.target
        poisoned: dict[str, dict[str, Any]] = {}
        for group in groups:
            changed = False
            for job in group:
                case = shared.cases.get(job.cell.case) or {}
                versions = lane.hello.get("versions") or {}
                row = self._finalise(run, lane.attempt(run, job, case, versions, poisoned), job, case)
                changed = changed or bool(row.get("state_changed"))
                pending = Verdict(row["verdict"]).needs_confirmation
                if pending and fresh_worker_reason(row) is None:  # deterministic: this worker confirms it now
                    second = self._finalise(run, lane.attempt(run, job, case, versions, poisoned, fresh=True), job, case)
                    changed = changed or bool(second.get("state_changed"))
                    row = self._settled(row, second, SAME_WORKER, case)
                    pending = False
                with self.lock:
                    if pending:
                        append_row(target.unconfirmed, row)  # not a regression until a fresh worker agrees
                        shared.unconfirmed[job.cell.key] = row
                    else:
                        now = time.monotonic()
                        sync = now - shared.synced >= SYNC_EVERY_S
                        append_row(target.rows, row, sync=sync)
                        shared.synced = now if sync else shared.synced
                        shared.outcome.count(row)
                        shared.outcome.confirmed += int(row.get("attempts") == 2)
                    shared.took(row)
                    shared.outcome.ran += 1
                    shared.index += 1
                    index = shared.index
                self.on_cell(self.env_id, index, shared.total, job.cell, row)
            if changed:
                self.note(f"case {group[0].cell.case!r} changed the worker's global state: restarting the worker")
                lane.start(run)

    def _settled(self, first: dict[str, Any], second: dict[str, Any], where: str, case: dict[str, Any]) -> dict[str, Any]:
        row = settle(first, second, where)
        return {**row, **self.reference.judge(row, case)}

    def _finalise(self, run: RunDir, row: dict[str, Any], job: Job, case: dict[str, Any]) -> dict[str, Any]:
        row.update(run_id=run.run_id, env_id=job.env_id or self.env_id, finished_at=_utc_now(),
                   concurrent_workers=self.slots.in_use() if self.slots is not None else 1,
                   cpu_cores=len(os.sched_getaffinity(0)))
        row.update(self.reference.judge(row, case))
        return row

    def _confirm(self, target: Target, jobs: list[Job], first_rows: dict[str, dict[str, Any]],
                 cases: dict[str, dict[str, Any]], versions: dict[str, Any], outcome: EnvOutcome) -> None:
        """Run each unexpected cell once more in a fresh worker, then write the settled row."""
        self.note(f"{len(jobs)} cell(s) not as expected that a process could change: running each again in a "
                  f"fresh worker")
        run = target.run
        self._start(run)
        poisoned: dict[str, dict[str, Any]] = {}
        for number, job in enumerate(jobs, 1):  # its own count: the same worker confirmed others already
            case = cases.get(job.cell.case) or {}
            second = self._finalise(run, self.lanes[0].attempt(run, job, case, versions, poisoned, fresh=True),
                                    job, case)
            row = self._settled(first_rows[job.cell.key], second, FRESH_WORKER, case)
            append_row(target.rows, row)
            outcome.count(row)
            outcome.confirmed += 1
            self.on_cell(self.env_id, number, len(jobs), job.cell, row)
