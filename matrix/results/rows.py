"""Rows on disk: JSON Lines appended whole under a lock, synced, and read back with torn lines dropped.

A row is one ``write()`` of one line under an exclusive lock, so concurrent writers never
interleave; a line torn by a kill is dropped (with a warning) when read and cut off before the
next append. A short write (a full disk) is undone and raised as StorageError.
"""
from __future__ import annotations

import fcntl
import gzip
import json
import os
from pathlib import Path
from typing import Any

from matrix.results.store import StorageError
from matrix.wire import Row


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
    """Valid rows of one results file, and a message for everything skipped (naming the file)."""
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    if path.exists() and not path.is_file():  # a device or a folder: never read (/dev/zero would not end)
        return [], [f"{path}: not a regular file, skipped"]
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":  # published results are compressed
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        return [], [f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})"]
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
