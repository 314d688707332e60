"""The published form of files: gzip and tar.gz written byte-for-byte reproducibly (no timestamps), and
an environment's exported files packed into one archive and unpacked (flat names only) to be read."""
from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

EXPORT_SUFFIXES = (".onnx", ".json", ".npz")


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def pack_exports(folder: Path) -> bytes:
    """The exported files of one environment as a reproducible tar.gz (what the site serves and replay reads)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in EXPORT_SUFFIXES:
                info = tarfile.TarInfo(path.name)
                info.size = path.stat().st_size
                info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
    return gzipped(buffer.getvalue())


def unpack_exports(archive: Path, folder: Path) -> Path:
    """Extract an environment's exported files (once) so replay and the site can read them."""
    marker = folder / ".unpacked"
    if marker.exists() and marker.read_text() == str(archive.stat().st_mtime_ns):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                continue  # flat names only: nothing escapes the folder
            with tar.extractfile(member) as source, open(folder / member.name, "wb") as target:
                shutil.copyfileobj(source, target)
    marker.write_text(str(archive.stat().st_mtime_ns))
    return folder
