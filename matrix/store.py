"""Where results live under the out dir, and how rows are written and read back.

    OUT/runs/<run_id>/run.json               the run's selection (what was asked for)
    OUT/runs/<run_id>/<env>.jsonl            one row per cell, schema_version in every row
    OUT/runs/<run_id>/<env>.state.json       running | complete, cells planned and done
    OUT/runs/<run_id>/<env>.catalogue.json   the cases as the worker described them
    OUT/runs/<run_id>/<env>.worker.log       everything the worker printed
    OUT/runs/<run_id>/<env>.unconfirmed.jsonl rows not as expected, waiting for their second run
    OUT/runs/<run_id>/exports/<env>/         the exported .onnx files

A row is one ``write()`` of one line under an exclusive lock, so concurrent writers
never interleave; a line torn by a kill is dropped (with a warning) when read and cut
off before the next append.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterator

from matrix.wire import Row

RUNS = "runs"


class ResultsError(ValueError):
    pass


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def write_json(path: Path, data: Any) -> None:
    """Replace ``path`` atomically: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not JSON ({exc})") from None


@contextlib.contextmanager
def locked(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive flock on ``path``; yields False when ``blocking`` is off and another holder has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class RunDir:
    """One run's folder; every environment writes only its own files in it."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out
        self.run_id = run_id
        self.path = out / RUNS / run_id

    def rows_file(self, env_id: str) -> Path:
        return self.path / f"{env_id}.jsonl"

    def state_file(self, env_id: str) -> Path:
        return self.path / f"{env_id}.state.json"

    def catalogue_file(self, env_id: str) -> Path:
        return self.path / f"{env_id}.catalogue.json"

    def log_file(self, env_id: str) -> Path:
        return self.path / f"{env_id}.worker.log"

    def exports_dir(self, env_id: str) -> Path:
        return self.path / "exports" / env_id

    def env_lock(self, env_id: str) -> Path:
        return self.path / f".{env_id}.lock"

    def selection(self) -> dict[str, Any] | None:
        meta = read_json(self.path / "run.json")
        return meta.get("selection") if isinstance(meta, dict) else None

    def env_state(self, env_id: str) -> dict[str, Any]:
        return read_json(self.state_file(env_id)) or {}

    def set_env_state(self, env_id: str, **fields: Any) -> None:
        state = self.env_state(env_id)
        state.update(fields)
        write_json(self.state_file(env_id), state)


def list_runs(out: Path) -> list[RunDir]:
    """Runs oldest first (run ids sort by their UTC start time)."""
    base = out / RUNS
    if not base.is_dir():
        return []
    return [RunDir(out, p.name) for p in sorted(base.iterdir()) if p.is_dir() and not p.name.startswith(".")]


@contextlib.contextmanager
def claim_run(out: Path, env_id: str, selection: dict[str, Any], run_id: str | None = None) -> Iterator[RunDir]:
    """The run this invocation writes ``env_id`` into, held for the invocation.

    With ``run_id`` that run (CI shards share one). Otherwise the newest run with the
    same selection whose ``env_id`` is unfinished and not being written by another
    process: so the next entry of ``nox -s matrix`` joins the run the first one made,
    and the same command after an interruption resumes. Else a new run.
    """
    with contextlib.ExitStack() as held:
        with locked(out / RUNS / ".lock"):
            if run_id:
                run: RunDir | None = RunDir(out, run_id)
            else:
                run = next((r for r in list_runs(out)[-1:] if r.selection() == selection
                            and r.env_state(env_id).get("status") != "complete"), None)
            if run is not None:
                run.path.mkdir(parents=True, exist_ok=True)
                if not held.enter_context(locked(run.env_lock(env_id), blocking=False)):
                    if run_id:
                        raise ResultsError(f"run {run_id}: another process is writing {env_id} into it")
                    run = None  # being written by another process: never share it
            if run is None:
                run = RunDir(out, new_run_id())
                run.path.mkdir(parents=True)
                held.enter_context(locked(run.env_lock(env_id)))
            if not (run.path / "run.json").exists():
                write_json(run.path / "run.json", {"run_id": run.run_id, "selection": selection,
                                                   "created": dt.datetime.now(dt.timezone.utc).isoformat()})
        yield run


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row as one line, under a lock, cutting off a torn last line first."""
    line = (json.dumps(row, sort_keys=True, default=str) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, max(0, size - 1), os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                _cut_torn_line(fd, size)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _cut_torn_line(fd: int, size: int) -> None:
    """Truncate to just after the last newline: the tail was a row a kill cut in half."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, size)
    os.ftruncate(fd, data.rfind(b"\n") + 1)


def read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Valid rows of one results file, and a message for everything skipped (naming the file)."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [f"{path}: cannot read ({exc.strerror})"]
    lines = data.split(b"\n")
    torn = lines.pop() if lines else b""
    if torn.strip():
        problems.append(f"{path}: dropped a torn last line ({len(torn)} bytes): the run was killed mid-write")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            data_row = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            problems.append(f"{path}:{number}: not JSON, skipped")
            continue
        if not isinstance(data_row, dict):
            problems.append(f"{path}:{number}: not a JSON object, skipped")
            continue
        try:
            rows.append(Row.from_dict(data_row).to_dict())
        except (ValueError, TypeError) as exc:
            problems.append(f"{path}:{number}: {exc}, skipped")
    return rows, problems
