"""Results are untrusted input: the one place that turns their text into file names, keeps joined paths
inside their folder, refuses symbolic links, and reads files with a bound on what they may cost.

A published ``results/`` folder, a merged CI shard or a foreign catalogue can carry any text in an id and
any bytes in a file; every view and tool that writes a path from such text, or reads such a file, goes
through here.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
from pathlib import Path
from typing import BinaryIO, Iterator

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,100}$")

# The worker caps every error it records at this many characters (matrix/worker/outputs.py MAX_ERROR_CHARS);
# the host caps every text field it reads at the same, so a row written by anything else costs no more.
MAX_TEXT_CHARS = 4000
# The code the worker ran (export_call, runtime_call) is replayed by reproductions: kept longer, still bounded.
MAX_CODE_CHARS = 64_000
# What one results file may inflate to, its lines and one line's bytes (the reference's largest file is under
# 2 MiB, its longest row 5 KB): a gzip bomb is a problem named, not gigabytes of RAM or minutes.
MAX_FILE_BYTES = 64 * 2 ** 20
MAX_LINES = 1_000_000
MAX_LINE_BYTES = 2 * 2 ** 20
CHUNK = 2 ** 20


class ResultsError(ValueError):
    """A results folder or file that cannot be read or written as asked; the message names it."""


def slug(name: object) -> str:
    """``name`` as one file name: itself when it is already safe, else a cleaned form and a hash."""
    text = str(name)
    if SAFE.match(text) and ".." not in text:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip(".-")[:60] or "x"
    return f"{cleaned}-{hashlib.sha256(text.encode('utf-8', 'backslashreplace')).hexdigest()[:8]}"


def inside(folder: Path, *parts: str) -> Path:
    """``folder / parts``, refused (ResultsError naming it) unless it stays inside ``folder`` once resolved."""
    path = folder.joinpath(*parts)
    root = folder.resolve()
    if not path.resolve().is_relative_to(root):
        raise ResultsError(f"{path}: outside {root}, not written")
    return path


def no_link(path: Path, what: str = "") -> Path:
    """``path``, refused (ResultsError naming it) when it is a symbolic link: never followed."""
    if path.is_symlink():
        raise ResultsError(f"{path}: {what + ' ' if what else ''}is a symbolic link, refused (never followed)")
    return path


def cap_text(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``value`` cut to ``limit`` characters, saying how much was cut."""
    if len(value) <= limit:
        return value
    return value[:limit] + f"... [{len(value) - limit} more characters cut when read]"


def valid_text(value: str) -> str:
    """``value`` as text that any writer (Parquet, pandas' Arrow-backed strings) takes: JSON carries lone surrogates
    (``"\\ud800"``, from a worker's undecodable bytes), UTF-8 has none, so each becomes its escape, as the
    rows file's writer escapes them."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _too_big(path: Path, limit: int) -> ResultsError:
    return ResultsError(f"{path}: more than {limit // 2 ** 20} MiB or {MAX_LINES} lines once read (a gzip bomb?), "
                        f"skipped")


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # type: ignore[return-value]


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A file's read errors as ResultsError naming it (a missing file stays FileNotFoundError: callers ask)."""
    try:
        yield
    except (EOFError, gzip.BadGzipFile) as exc:
        raise ResultsError(f"{path}: not a readable gzip file ({exc})") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` (inflated when ``.gz``), streamed: ResultsError once they pass ``limit``."""
    chunks, total = [], 0
    with _reading(path):
        with _open(path) as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                total += len(chunk)
                if total > limit:
                    raise _too_big(path, limit)
                chunks.append(chunk)
    return b"".join(chunks)


def lines_bounded(path: Path, limit: int = MAX_FILE_BYTES,
                  line_limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """(number, line) of ``path`` (inflated when ``.gz``), streamed; an over-long line comes as None. The
    last item is the unterminated tail (torn by a kill), number 0. ResultsError past ``limit`` in all."""
    total = number = 0
    with _reading(path):
        with _open(path) as handle:
            for line in iter(lambda: handle.readline(line_limit + 1), b""):
                number += 1
                total += len(line)
                if total > limit or number > MAX_LINES:
                    raise _too_big(path, limit)
                if len(line) > line_limit:
                    while line and not line.endswith(b"\n"):  # the rest of the line, never held whole
                        line = handle.readline(CHUNK)
                        total += len(line)
                        if total > limit:
                            raise _too_big(path, limit)
                    yield number, None
                elif line.endswith(b"\n"):
                    yield number, line
                else:
                    yield 0, line
