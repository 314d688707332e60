"""Workers of one environment: the command's worker slots (--jobs), and a lane per worker that starts
it, restarts it after a death or a case that changed it, and turns a death or a hang into a row."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from matrix.results.store import RunDir
from matrix.run.jobs import Job
from matrix.run.worker_process import WorkerDied, WorkerProcess, WorkerTimeout
from matrix.wire import Row, Status

if TYPE_CHECKING:
    from matrix.run.runner import EnvRunner

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


class Stopped(BaseException):
    """The run was stopped (Ctrl-C, SIGTERM) while this environment was working: no worker is restarted."""


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block is done (then arrive as usual)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def last_error(log: Path) -> str | None:
    """The last exception line a worker's log holds ("ModuleNotFoundError: No module named 'onnx'"): what a
    user needs to read first when the worker could not start."""
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, log.stat().st_size - 8192))
            tail = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    found = [line.strip() for line in tail if re.match(r"^[A-Za-z_.]*(Error|Exception|Exit)\b.*:", line.strip())]
    return found[-1][:300] if found else None


def free_cores() -> float:
    """Cores no process is using now (this machine's one-minute load against the cores this process may use):
    an extra worker only runs beside the others where one is free; where none is, its start (a torch import)
    takes the first worker's core and the run is slower than with one worker."""
    try:
        return len(os.sched_getaffinity(0)) - os.getloadavg()[0]
    except (AttributeError, OSError):
        return float(os.cpu_count() or 1)


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
class Lane:
    """One worker of an environment: started, restarted after a death or a case that changed it, closed."""

    def __init__(self, runner: "EnvRunner", number: int) -> None:
        self.runner = runner
        self.number = number
        self.worker: WorkerProcess | None = None
        self.hello: dict[str, Any] = {}

    def log_file(self, run: RunDir):
        return run.log_file(self.runner.env_id, self.number)

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
                said = last_error(self.log_file(run))
                raise EnvironmentBroken(f"[{runner.env_id}] the worker did not start: {died}"
                                        f"{': ' + said if said else ''}; see {self.log_file(run)}") from None
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
