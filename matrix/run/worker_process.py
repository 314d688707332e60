"""The host's handle on one worker process: start it, send cells, read frames under a deadline.

The worker runs in its own session (process group), so a timeout kills the whole tree
it spawned. A death shows up as end-of-file on the frames pipe; the exit status says
which signal it was.
"""
from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from matrix.paths import CACHE_DIR, REPO_ROOT
from matrix.results.store import StorageError
from matrix.wire import protocol


def default_memory_limit_mb() -> int:
    """3/4 of physical memory: a runaway case fails its cell, not the machine. None with an
    NVIDIA GPU: CUDA reserves far more address space than it uses, and RLIMIT_AS breaks it."""
    if Path("/dev/nvidiactl").exists():
        return 0
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.75 / 2 ** 20)


class WorkerDied(Exception):
    def __init__(self, message: str, stage: str | None, returncode: int | None, importing: str | None = None,
                 fatal: bool = False, started: bool = True) -> None:
        super().__init__(message)
        self.started = started  # False: it died before taking up the request (between cells)
        self.fatal = fatal  # the worker refused to start (it said why); restarting will not help
        self.stage = stage
        self.importing = importing


class WorkerTimeout(Exception):
    def __init__(self, seconds: float, stage: str | None) -> None:
        super().__init__(f"no result within {seconds:g} s (stage {stage or '?'}); the worker was killed")
        self.stage = stage


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "the worker closed its result pipe but did not exit"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the worker died with {name} (exit {returncode})"
    return f"the worker exited with status {returncode}"


class WorkerProcess:
    def __init__(self, python: str | Path, case_dirs: list[Path], exports_dir: Path, log_path: Path,
                 exclude: list[str] = (), memory_limit_mb: int = 0, time_budget_s: float = 1.0,
                 planned: list[str] = (), timing_lock: Path | None = None, pythonpath: str | None = None) -> None:
        self.python = str(python)
        self.pythonpath = pythonpath
        self.case_dirs = case_dirs
        self.exports_dir = exports_dir
        self.log_path = log_path
        self.exclude = list(exclude)
        self.memory_limit_mb = memory_limit_mb
        self.time_budget_s = time_budget_s
        self.planned = list(planned)
        self.timing_lock = timing_lock
        self.proc: subprocess.Popen | None = None
        self._buffer = bytearray()  # appended to in place: a catalogue of thousands of cases is megabytes
        self._scanned = 0  # how much of the buffer holds no newline
        self._read_fd: int | None = None
        self.stage: str | None = None
        self.importing: str | None = None
        self._seq = 0
        self.started = False

    def start(self, timeout: float) -> dict[str, Any]:
        """Spawn the worker and wait for its hello frame (versions, capabilities, catalogue)."""
        read_fd, write_fd = os.pipe()
        command = [self.python, "-u", "-m", "matrix.worker", "--frames-fd", str(write_fd),
                   "--exports-dir", str(self.exports_dir), "--time-budget", str(self.time_budget_s)]
        for folder in self.case_dirs:
            command += ["--cases-dir", str(folder)]
        for case_id in self.exclude:
            command += ["--exclude", case_id]
        if self.memory_limit_mb:
            command += ["--memory-limit-mb", str(self.memory_limit_mb)]
        if self.planned:
            command += ["--planned", ",".join(self.planned)]
        if self.timing_lock is not None:
            command += ["--timing-lock", str(self.timing_lock)]
        path = os.pathsep.join([str(REPO_ROOT)] + ([self.pythonpath] if self.pythonpath else []))
        # torch's own modules compiled once and kept (uv installs no bytecode; compiling them is a second of every
        # worker start), under the project's cache folder rather than beside anyone's sources
        env = dict(os.environ, PYTHONPATH=path, PYTHONPYCACHEPREFIX=str(CACHE_DIR / "pycache"), PYTHONUNBUFFERED="1")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # the worker's cwd is scratch space: exporters drop files there (2.x's SARIF reports)
        self.exports_dir.mkdir(parents=True, exist_ok=True)
        spawned = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== worker start {time.strftime('%Y-%m-%dT%H:%M:%S')}: {' '.join(command)}\n".encode())
            self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=self.exports_dir,
                                         env=env, pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        self._read_fd = read_fd
        os.set_blocking(read_fd, False)
        self.stage = "start"
        while True:
            frame = self._next_frame(time.monotonic() + timeout, timeout)
            if frame["type"] == "importing":
                self.importing = frame.get("case")
            elif frame["type"] == "fatal":
                self.kill()
                raise WorkerDied(frame.get("error", "the worker refused to start"), "start", None, fatal=True)
            elif frame["type"] == "hello":
                self.importing = None
                frame.setdefault("start_s", {})["spawn_to_hello"] = round(time.monotonic() - spawned, 3)
                return frame

    def run_cell(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request (a cell, or a replay) and return its row; WorkerTimeout or WorkerDied when it does not come.

        Every request carries a sequence number and its cell's key; only a row frame that echoes
        both answers it. Anything else on the pipe (a forked child's frame, a late one) is logged
        and dropped, never taken for this cell's row.
        """
        assert self.proc is not None and self.proc.stdin is not None
        self._seq += 1
        request = dict(request, seq=self._seq)
        self.stage = "plan"
        self.started = False  # until the worker says it began this request, a death is not the cell's
        try:
            self.proc.stdin.write(protocol.encode(request))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died already: the read below reports how
        deadline = time.monotonic() + timeout
        while True:
            frame = self._next_frame(deadline, timeout)
            if frame.get("seq") != self._seq or frame.get("cell") != request["key"]:
                self._note(f"rejected a frame that does not answer request {self._seq} ({request['key']}): "
                           f"{str(frame)[:300]}")
                continue
            if frame["type"] == "started":
                self.started = True
            elif frame["type"] == "stage":
                self.stage = frame.get("stage")
            elif frame["type"] == "fault":
                self.kill()
                raise StorageError(f"the worker could not write: {frame.get('error')}")
            elif frame["type"] == "row":
                row = frame.get("row")
                if isinstance(row, dict) and row.get("cell") == request["key"]:
                    return row
                self._note(f"rejected a row frame whose row is not cell {request['key']}")

    def _note(self, message: str) -> None:
        """A line in the worker's log: what the host saw and set aside."""
        try:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(f"[host] {message}\n")
        except OSError:
            pass

    def _next_frame(self, deadline: float, timeout: float) -> dict[str, Any]:
        while True:
            newline = self._buffer.find(b"\n", self._scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[:newline + 1]
                self._scanned = 0
                frame = protocol.decode(line)
                if frame is not None:
                    return frame
                continue
            self._scanned = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise WorkerTimeout(timeout, self.stage)
            with selectors.DefaultSelector() as selector:
                selector.register(self._read_fd, selectors.EVENT_READ)
                if not selector.select(min(remaining, 1.0)):
                    continue
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                returncode = self._reap()
                raise WorkerDied(describe_exit(returncode), self.stage, returncode, self.importing,
                                 started=self.started)
            self._buffer += chunk

    def _reap(self) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        finally:
            try:  # what the dead worker left in its group (a case's pool) goes with it
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._close_pipes()

    def kill(self) -> None:
        """Kill the worker and everything it started (it leads its own process group)."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._close_pipes()

    def close(self, grace_s: float = 0.5) -> None:
        """Ask the worker to exit, give it a moment, then make sure it and its group are gone.

        Every row is on the host already: waiting for torch's interpreter teardown buys nothing.
        """
        if self.proc is None:
            return
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.write(protocol.encode({"type": "exit"}))
                self.proc.stdin.close()
            self.proc.wait(timeout=grace_s)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _close_pipes(self) -> None:
        if self._read_fd is not None:
            os.close(self._read_fd)
            self._read_fd = None
        if self.proc is not None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self._buffer = bytearray()
        self._scanned = 0
