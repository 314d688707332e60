"""Rows on disk: JSON Lines appended whole under a lock, synced, and read back with torn lines dropped; the one
reader of every form of a rows file (``.jsonl``, published ``.jsonl.gz`` and ``.parquet``: columnar.py).

A row is one ``write()`` of one line under an exclusive lock, so concurrent writers never
interleave; a line torn by a kill is dropped (with a warning) when read and cut off before the
next append. A short write (a full disk) is undone and raised as StorageError.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from matrix.results import columnar
from matrix.results.safe import (
    MAX_CODE_CHARS,
    MAX_LINE_BYTES,
    MAX_TEXT_CHARS,
    ResultsError,
    cap_text,
    lines_bounded,
    valid_text,
)
from matrix.results.store import StorageError
from matrix.wire import Row
from matrix.wire.row import REQUIRED_FIELDS, VERSION_FIELDS, migrate


def _line(row: dict[str, Any]) -> bytes:
    return (json.dumps(row, sort_keys=True, default=str) + "\n").encode("utf-8", "backslashreplace")


def append_row(path: Path, row: dict[str, Any], sync: bool = True) -> None:
    """Append one row as one line, under a lock, cutting off a torn last line first.

    The row is written whole or not at all: a short write is continued, and a write the disk
    refuses (full, read-only) is undone and raised as StorageError naming the file. ``sync``
    waits for the disk too (a crash of the host never loses a written row either way; a power
    cut could lose the unsynced ones, which the same command then runs again).
    """
    _append(path, _line(row), sync)


def sync_file(path: Path) -> None:
    """Wait until what was appended to ``path`` is on the disk."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        raise StorageError(f"{path}: the rows could not be flushed to the disk ({exc.strerror})", exc.errno) from None
    finally:
        os.close(fd)


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append many rows in one write and one fsync (rows carried over from an earlier run), all or none."""
    if rows:
        _append(path, b"".join(_line(row) for row in rows))


def _append(path: Path, data: bytes, sync: bool = True) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise StorageError(f"{path}: cannot open the results file to append a row ({exc.strerror})", exc.errno) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size:
            os.lseek(fd, max(0, size - 1), os.SEEK_SET)
            if os.read(fd, 1) != b"\n":
                size = _cut_torn_line(fd, size)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if sync:
                os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)  # whole rows only: the partial line goes
            except OSError:
                pass  # the reader drops a torn last line, the next append cuts it
            raise StorageError(f"{path}: a row could not be written ({exc.strerror}); the rows before it are intact",
                               exc.errno) from None
    finally:
        os.close(fd)


def _cut_torn_line(fd: int, size: int) -> int:
    """Truncate to just after the last newline: the tail was a row a kill cut in half. The new size."""
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, size)
    keep = data.rfind(b"\n") + 1
    os.ftruncate(fd, keep)
    return keep


def read_rows(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Valid rows of one results file, and a message for everything skipped (naming the file).

    The file is untrusted: it is streamed with a bound on its size (inflated, when compressed) and on each
    line's, a row whose fields have the wrong type is skipped, and its text is capped as the worker caps it.
    """
    problems: list[str] = []
    try:
        return list(_rows(path, problems)), problems
    except FileNotFoundError as exc:
        return [], [f"{path}: cannot read ({exc.strerror})"]
    except ResultsError as exc:  # too big: the whole file is refused, not its first rows kept
        return [], [str(exc)]


def iter_rows(path: Path, problems: list[str] | None = None, fields: Iterable[str] | None = None,
              cases: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
    """The valid rows of one results file one at a time, as read_rows reads them (what is skipped is named
    in ``problems``): a caller that needs a field or two of each row never holds them all. ``fields``: the
    only fields the caller reads; a Parquet file then reads only their columns (and what checking a row
    needs), the other fields keeping their defaults. ``cases``: only the rows of these cases (a Parquet file
    filters them before they become rows: one op's answer out of 200,000 rows)."""
    problems = [] if problems is None else problems
    wanted = None if cases is None else set(cases)
    try:
        for row in _rows(path, problems, fields, wanted):
            if wanted is None or row["case"] in wanted:
                yield row
    except FileNotFoundError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror})")
    except ResultsError as exc:
        problems.append(str(exc))


def _rows(path: Path, problems: list[str], fields: Iterable[str] | None = None,
          cases: set[str] | None = None) -> Iterator[dict[str, Any]]:
    if path.exists() and not path.is_file():  # a device or a folder: never read (/dev/zero would not end)
        problems.append(f"{path}: not a regular file, skipped")
        return
    if path.name.endswith(columnar.SUFFIX):
        yield from _parquet_rows(path, problems, None if fields is None else {*fields, *ALWAYS_READ}, cases)
        return
    for number, raw in lines_bounded(path, MAX_ROWS_FILE_BYTES):
        if raw is None:
            problems.append(f"{path}:{number}: longer than {MAX_LINE_BYTES // 2 ** 20} MiB, skipped")
        elif number == 0:
            if raw.strip():
                problems.append(f"{path}: dropped a torn last line ({len(raw)} bytes): the run was killed mid-write")
        elif raw.strip():
            row, problem = _parse(raw)
            if row is not None:
                yield row
            else:
                problems.append(f"{path}:{number}: {problem}, skipped")


def _parquet_rows(path: Path, problems: list[str], columns: set[str] | None,
                  cases: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """A published Parquet file's rows, checked as a line's are (its columns say nothing the reader trusts)."""
    records = columnar.iter_parquet(path, MAX_ROWS_FILE_BYTES, columns, cases)
    for number, (record, problem) in enumerate(records, 1):
        row, problem = (None, problem) if problem else _checked(record, columns)
        if row is not None:
            yield row
        else:
            problems.append(f"{path}:row {number}: {problem}, skipped")


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, str]:
    """One line as a row of this schema, with its text capped; else None and why."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, "not JSON"
    return _checked(data)


def _checked(data: Any, columns: set[str] | None = None) -> tuple[dict[str, Any] | None, str]:
    """A decoded record as a row of this schema, with its text capped; else None and why. ``columns``: the only
    fields the record was read with (the others keep their defaults, which need no check: a query of a few
    columns over 200,000 op rows spent most of its time checking fields it never read)."""
    if not isinstance(data, dict):
        return None, "not a JSON object"
    try:
        row = _as_row(data)
    except (ValueError, TypeError) as exc:
        return None, str(exc)
    names = FIELD_NAMES if columns is None else [name for name in FIELD_NAMES if name in columns]
    for name in FLOAT_FIELDS:  # the worker's protocol sends inf and nan as their repr (JSON has neither)
        if row[name] in NON_FINITE:
            row[name] = float(row[name])
    wrong = [f"{name} is {type(row[name]).__name__}" for name in names
             if row[name] is not None and not isinstance(row[name], FIELD_TYPES[name])]
    if wrong:
        return None, "fields of the wrong type (" + ", ".join(wrong) + ")"
    for name in names:
        value = row[name]
        if isinstance(value, str):
            row[name] = cap_text(valid_text(value), MAX_CODE_CHARS if name in CODE_FIELDS else MAX_TEXT_CHARS)
    return row, ""


def _as_row(data: dict[str, Any]) -> dict[str, Any]:
    """``Row.from_dict(data).to_dict()`` without dataclasses.asdict's deep copy (two thirds of reading a row, and
    the values are fresh from json.loads): migrated, required fields checked, unknown keys dropped, missing ones
    given their defaults (every field's default is a plain value)."""
    data = migrate(data)
    missing = [name for name in REQUIRED_FIELDS if data.get(name) is None]
    if missing:
        raise ValueError("missing fields: %s" % ", ".join(missing))
    return {name: data.get(name, default) for name, default in ROW_DEFAULTS.items()}


def _kinds(annotation: str) -> tuple[type, ...]:
    """The Python types a JSON value of a field annotated ``Optional[...]`` may have."""
    for name, kinds in (("str", (str,)), ("bool", (bool, int)), ("int", (int, float)), ("float", (int, float)),
                        ("List", (list,)), ("Dict", (dict,))):
        if annotation.startswith((f"Optional[{name}", name)):
            return kinds
    return (object,)


ROW_DEFAULTS = Row().to_dict()
# A rows file is read as a stream (the bound on other files is what a reader may hold): one environment's
# 50,000 cells are 130 MB and more, past that bound, and a run must read its own rows back
MAX_ROWS_FILE_BYTES = 2 ** 30
FIELD_TYPES = {f.name: _kinds(str(f.type)) for f in dataclasses.fields(Row)}
FIELD_NAMES = list(FIELD_TYPES)
FLOAT_FIELDS = [f.name for f in dataclasses.fields(Row) if str(f.type).startswith(("Optional[float", "float"))]
NON_FINITE = ("inf", "-inf", "nan")
CODE_FIELDS = ("export_call", "runtime_call")  # replayed by reproductions: kept longer
# Read from a Parquet file whatever fields a caller asked for: what a row needs to be a row, and what a migration
# of an older schema's row reads (matrix/wire/row.py MIGRATIONS)
ALWAYS_READ = (*REQUIRED_FIELDS, "schema_version", "runtime_env", "runtime_version", *VERSION_FIELDS)
