"""The published form of files: gzip and tar.gz written byte-for-byte reproducibly (no timestamps), and
an environment's exported files packed into one archive and unpacked (flat names only) to be read.

What is packed is untrusted (a case wrote it): a symbolic link is refused, naming it, never followed;
a file over ``MAX_EXPORT_BYTES`` is left out, and said so (GitHub refuses files over 100 MB); and the
sidecars lose the absolute paths of the machine that published them.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

from matrix.results.safe import no_link
from matrix.results.store import ResultsError
from matrix.wire.digest import sha256_of

EXPORT_SUFFIXES = (".onnx", ".json", ".npz")
MAX_EXPORT_BYTES = 50 * 10 ** 6  # one exported file; the whole archive must stay under GitHub's 100 MB too
MAX_ARCHIVE_BYTES = 20 * MAX_EXPORT_BYTES  # what unpacking one environment's archive may write, at most


def local_paths_stripped(data: Any) -> Any:
    """``data`` with every absolute path of this machine (a string that is one) cut to its last name."""
    if isinstance(data, dict):
        return {k: local_paths_stripped(v) for k, v in data.items()}
    if isinstance(data, list):
        return [local_paths_stripped(v) for v in data]
    if isinstance(data, str) and os.path.isabs(data) and "\n" not in data:
        return os.path.basename(data.rstrip("/")) or data
    return data


def _sidecar(path: Path) -> bytes:
    """A sidecar as published: its JSON without this machine's paths (kept as it is where it is not JSON)."""
    data = path.read_bytes()
    try:
        return json.dumps(local_paths_stripped(json.loads(data)), sort_keys=True).encode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return data


def check_hashes(folder: Path) -> None:
    """Each exported file is the one its export wrote: the sidecar's sha256 (``export_sha256``, ``data_sha256``)
    against the file's bytes. A file another case rewrote is refused (ResultsError naming it), never published."""
    for sidecar in sorted(folder.glob("*.json")):
        try:
            recorded = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a sidecar the worker wrote: packed as it is, replay refuses it
        if not isinstance(recorded, dict):
            continue
        for key, suffix in (("export_sha256", ".onnx"), ("data_sha256", ".npz")):
            expected, path = recorded.get(key), sidecar.with_suffix(suffix)
            if isinstance(expected, str) and path.is_file() and sha256_of(path) != expected:
                raise ResultsError(f"{path}: changed after its export wrote it (its sidecar's {key} differs): "
                                   f"not published")


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def pack_exports(folder: Path, left_out: list[str] | None = None) -> bytes:
    """The exported files of one environment as a reproducible tar.gz (what the site serves and replay reads).

    A symbolic link in ``folder`` (or ``folder`` one) is refused (ResultsError naming it); a file over
    ``MAX_EXPORT_BYTES`` is left out, with a line saying so in ``left_out``.
    """
    buffer = io.BytesIO()
    no_link(folder, "an exports folder")
    check_hashes(folder)
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.iterdir()):
            if path.suffix not in EXPORT_SUFFIXES:
                continue
            no_link(path, "an exported file")
            if not path.is_file():
                continue
            size = path.stat().st_size
            if size > MAX_EXPORT_BYTES:
                if left_out is not None:
                    left_out.append(f"{path}: {size / 10 ** 6:.0f} MB, over the {MAX_EXPORT_BYTES // 10 ** 6} MB "
                                    f"a published file may have: left out")
                continue
            data = _sidecar(path) if path.suffix == ".json" else None
            info = tarfile.TarInfo(path.name)
            info.size = len(data) if data is not None else size
            info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
            with open(path, "rb") as handle:
                tar.addfile(info, io.BytesIO(data) if data is not None else handle)
    return gzipped(buffer.getvalue())


def unpack_exports(archive: Path, folder: Path) -> Path:
    """Extract an environment's exported files (once) so replay and the site can read them."""
    marker = folder / ".unpacked"
    if marker.exists() and marker.read_text() == str(archive.stat().st_mtime_ns):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:  # streamed: a bomb's members are never all listed at once
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                continue  # flat names only: nothing escapes the folder
            if member.size > MAX_EXPORT_BYTES or total + member.size > MAX_ARCHIVE_BYTES:
                continue  # more than publish ever packs: not unpacked
            total += member.size
            with tar.extractfile(member) as source, open(folder / member.name, "wb") as target:
                shutil.copyfileobj(source, target)
    marker.write_text(str(archive.stat().st_mtime_ns))
    return folder
