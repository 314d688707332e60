"""Where results live under the out dir, and how rows are written and read back.

    OUT/runs/<run_id>/run.json                  the run's id, selection, start time and provenance
    OUT/runs/<run_id>/<env>.jsonl               one row per cell, schema_version in every row
    OUT/runs/<run_id>/<env>.skips.json          the columns not applicable here, once each, with the reason
    OUT/runs/<run_id>/<env>.unconfirmed.jsonl   rows not as expected, waiting for their second run
    OUT/runs/<run_id>/<env>.replay.jsonl        <env>'s exported files run by another environment's runtimes
                                                (with its own .skips.json and .unconfirmed.jsonl)
    OUT/runs/<run_id>/<env>.state.json          running | complete, cells planned and done
    OUT/runs/<run_id>/<env>.catalogue.json      the cases as the worker described them
    OUT/runs/<run_id>/<env>.worker[-N].log      everything each worker printed
    OUT/runs/<run_id>/exports/<env>/            the exported .onnx files and their sidecars

``RunDir`` is the one owner of these names; published folders add ``.gz`` (``readable`` finds either), and
hold rows as ``<env>.parquet`` (``readable_rows`` finds the form there is).

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
import re
import secrets
from pathlib import Path
from typing import Any, Iterable, Iterator

from matrix.results.safe import ResultsError, read_bounded
from matrix.wire import case_hash
from matrix.wire.contract import helper_sources
from matrix.wire.opcases import op_cases, source_hash

RUNS = "runs"
META = "run.json"
UNCONFIRMED = ".unconfirmed.jsonl"


class StorageError(Exception):
    """The out folder refused a write (full, read-only, not a folder): the run stops here, loudly.

    What is on disk stays consistent: whole rows only, and the state never says complete.
    """

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def check_name(kind: str, value: str) -> str:
    """Run and environment ids become file and folder names: letters, digits, . _ + - only."""
    if not isinstance(value, str) or not RUN_ID.match(value) or ".." in value:
        raise ResultsError(f"{kind} {value!r} is not a safe name: use letters, digits and . _ + - "
                           f"(at most 128, no '/' and no '..')")
    return value


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> int:
    """Replace ``path`` whole: a reader never sees half a file, a failed write keeps the old one. The
    temporary name carries the process id, so two writers never share it. ``data`` may come in chunks (a page
    of 50,000 cells streamed as it renders, never held whole); one that fails half-way also keeps the old file.
    Returns the bytes written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    size = 0
    try:
        with open(tmp, "wb") as handle:
            for chunk in [data] if isinstance(data, (bytes, bytearray)) else data:
                size += handle.write(chunk)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"{path}: cannot be written ({exc.strerror or exc})", exc.errno) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size


def write_json(path: Path, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str).encode("utf-8"))


def read_json(path: Path) -> Any:
    """The JSON in ``path``, None when there is no such file, ResultsError naming it when it is not JSON."""
    try:
        if path.exists() and not path.is_file():
            raise ResultsError(f"{path}: not a regular file")
        data = read_bounded(path)  # inflated when .gz, never past its bound
        return json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        return None
    except ResultsError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: not JSON ({exc})") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror})") from None


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


def readable(path: Path) -> Path:
    """``path``, or its compressed twin (``.gz``) where only that exists: published results are compressed."""
    if not path.exists():
        packed = path.with_name(path.name + ".gz")
        if packed.exists():
            return packed
    return path


# The forms of one rows file, the one to read first first: a run's own (appended), then the published ones
# (Parquet, or gzipped JSON Lines where published before Parquet; publish keeps one form per file, a reader
# never reads two)
ROW_FORMS = (".jsonl", ".parquet", ".jsonl.gz")


def rows_stem(name: str) -> str | None:
    """``torch-2.6.0.replay`` of ``torch-2.6.0.replay.parquet`` (any rows form); None for any other file."""
    for suffix in sorted(ROW_FORMS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def readable_rows(path: Path) -> Path:
    """A rows file (``<env>.jsonl``) in whichever form its folder holds, ``path`` itself where none is there."""
    stem = rows_stem(path.name) or path.name
    for suffix in ROW_FORMS:
        if (path.parent / (stem + suffix)).exists():
            return path.parent / (stem + suffix)
    return path


def row_files(folder: Path) -> list[Path]:
    """Every rows file of a run's folder, one form each (as ``readable_rows`` chooses), unconfirmed rows aside."""
    stems = {rows_stem(p.name) for p in folder.glob("*") if rows_stem(p.name)}
    return sorted(readable_rows(folder / (stem + ROW_FORMS[0])) for stem in stems
                  if not (stem + ROW_FORMS[0]).endswith(UNCONFIRMED))


class RunDir:
    """One run's folder; every environment writes only its own files in it."""

    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out
        self.run_id = run_id
        self.path = out / RUNS / run_id

    @property
    def meta_file(self) -> Path:
        """run.json: the run's id, selection, start time and provenance."""
        return self.path / META

    def meta(self) -> dict[str, Any]:
        meta = read_json(self.meta_file)
        return meta if isinstance(meta, dict) else {}

    def rows_file(self, env_id: str, replay: bool = False) -> Path:
        """An environment's rows: its own cells, or (``replay``) its files run by another's runtimes."""
        return self.path / (f"{env_id}.replay.jsonl" if replay else f"{env_id}.jsonl")

    def skips_file(self, env_id: str, replay: bool = False) -> Path:
        """The columns decided not applicable, once each, beside the rows they would have been."""
        return self.rows_file(env_id, replay).with_suffix(".skips.json")

    def unconfirmed_file(self, env_id: str, replay: bool = False) -> Path:
        """Rows not as expected that wait for their second run in a fresh worker (never read as rows)."""
        return self.rows_file(env_id, replay).with_suffix(UNCONFIRMED)

    def replayed_envs(self) -> list[str]:
        """The environments whose files this run's replay rows ran."""
        return sorted(p.name[: -len(".replay.jsonl")] for p in self.path.glob("*.replay.jsonl"))

    def state_file(self, env_id: str) -> Path:
        return self.path / f"{env_id}.state.json"

    def catalogue_file(self, env_id: str) -> Path:
        return readable(self.path / f"{env_id}.catalogue.json")

    def log_file(self, env_id: str, lane: int = 0) -> Path:
        return self.path / (f"{env_id}.worker.log" if lane == 0 else f"{env_id}.worker-{lane}.log")

    def exports_dir(self, env_id: str) -> Path:
        return self.path / "exports" / env_id

    def env_lock(self, env_id: str) -> Path:
        return self.path / f".{env_id}.lock"

    def selection(self) -> dict[str, Any] | None:
        return self.meta().get("selection")

    def env_state(self, env_id: str) -> dict[str, Any]:
        return read_json(self.state_file(env_id)) or {}

    def set_env_state(self, env_id: str, **fields: Any) -> None:
        state = self.env_state(env_id)
        state.update(fields)
        write_json(self.state_file(env_id), state)


def run_started(run: RunDir) -> str:
    """When the run started, as its run.json recorded it (a run id can be any name a user gave)."""
    try:
        created = run.meta().get("created")
    except ResultsError:
        created = None
    if isinstance(created, str):
        return created
    try:  # no record: the folder's own time stands in
        return dt.datetime.fromtimestamp(run.path.stat().st_mtime, dt.timezone.utc).isoformat()
    except OSError:
        return ""


def list_runs(out: Path) -> list[RunDir]:
    """Runs oldest first, by the start time each recorded (not by name: --run-id names anything)."""
    base = out / RUNS
    if not base.is_dir():
        return []
    runs = [RunDir(out, p.name) for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(runs, key=lambda run: (run_started(run), run.run_id))


def _make_dirs(path: Path, created: list[Path]) -> None:
    """mkdir -p that remembers which folders it made (to take them back if the run cannot start)."""
    missing = []
    for folder in [path, *path.parents]:
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # another run made it a moment ago: theirs, not ours to take back
            if folder.is_dir():
                continue
            raise
        created.append(folder)


def _take_back(created: list[Path]) -> None:
    """Remove the folders a failed start made, and the lock files in them: no empty folders left behind."""
    for folder in reversed(created):
        for lock in folder.glob(".*lock"):
            lock.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass


@contextlib.contextmanager
def claim_run(out: Path, env_id: str, selection: dict[str, Any], run_id: str | None = None,
              meta: dict[str, Any] | None = None) -> Iterator[RunDir]:
    """The run this invocation writes ``env_id`` into, held for the invocation.

    With ``run_id`` that run (CI shards share one). Otherwise the newest run (by its recorded
    start) with the same selection whose ``env_id`` is unfinished and not being written by
    another process: so the next entry of ``nox -s matrix`` joins the run the first one made,
    and the same command after an interruption resumes. Else a new run. An out folder that
    cannot be written is a StorageError, and leaves no folder behind.
    """
    check_name("environment id", env_id)
    if run_id is not None:
        check_name("--run-id", run_id)
    if out.exists() and not out.is_dir():
        raise StorageError(f"--out {out}: is a file, not a folder")
    created: list[Path] = []
    with contextlib.ExitStack() as held:
        try:
            _make_dirs(out / RUNS, created)
            with locked(out / RUNS / ".lock"):
                if run_id:
                    run: RunDir | None = RunDir(out, run_id)
                else:
                    run = next((r for r in list_runs(out)[-1:] if r.selection() == selection
                                and r.env_state(env_id).get("status") != "complete"), None)
                if run is not None:
                    _make_dirs(run.path, created)
                    if not held.enter_context(locked(run.env_lock(env_id), blocking=False)):
                        if run_id:
                            raise ResultsError(f"run {run_id}: another process is writing {env_id} into it")
                        run = None  # being written by another process: never share it
                if run is None:
                    run = RunDir(out, new_run_id())
                    _make_dirs(run.path, created)
                    held.enter_context(locked(run.env_lock(env_id)))
                if not run.meta_file.exists():
                    write_json(run.meta_file, {"run_id": run.run_id, "selection": selection,
                                                       "created": dt.datetime.now(dt.timezone.utc).isoformat(),
                                                       **(meta or {})})
        except OSError as exc:
            held.close()
            _take_back(created)
            if isinstance(exc, StorageError):
                raise
            raise StorageError(f"--out {out}: cannot start a run there ({exc.strerror or exc})", exc.errno) from None
        yield run


def current_hashes(case_dirs: list[Path]) -> dict[str, str]:
    """The case hash of every case module as it is on disk now (stdlib: the host imports no case)."""
    hashes = {}
    for folder in case_dirs:
        if folder.is_dir():
            try:
                helpers = helper_sources(str(folder))
            except OSError:
                continue
            for path in sorted(folder.glob("[!_]*.py")):
                try:
                    hashes[path.stem] = case_hash(str(path), helpers)
                except OSError:
                    continue
            for case_id, _, source in op_cases(str(folder)):  # the frozen operator corpus's generated cases
                hashes[case_id] = source_hash(source)
    return hashes
