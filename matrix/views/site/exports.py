"""Each environment's exported files, unpacked into the site so every cell links its .onnx file.

The archive is the reference run's ``exports/<env>.tar.gz``; ``matrix.results.archive.unpack_exports``
extracts flat names only and skips the work when the archive has not changed since. A new
archive replaces the folder whole, so files of an older reference do not linger.
"""
from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import Any

from matrix.results.archive import unpack_exports
from matrix.views.site import paths
from matrix.wire import Cell


def unpack(archives: dict[str, Path], out: Path, problems: list[str]) -> dict[str, set[str]]:
    """Extract every environment's archive under ``out/files/<env>/``; the names of the files each one has."""
    names: dict[str, set[str]] = {}
    kept = {paths.files_dir(env_id) for env_id in archives}
    for folder in sorted((out / "files").glob("*")):  # an environment no longer published: its files go too
        if folder.is_dir() and folder.relative_to(out).as_posix() not in kept:
            shutil.rmtree(folder, ignore_errors=True)
    for env_id, archive in archives.items():
        folder = out / paths.files_dir(env_id)
        marker = folder / ".unpacked"
        if archive.is_symlink():
            problems.append(f"{archive}: a symbolic link, not unpacked (never followed)")
            continue
        try:
            if folder.is_dir() and (not marker.exists() or marker.read_text() != str(archive.stat().st_mtime_ns)):
                shutil.rmtree(folder)
            unpack_exports(archive, folder)
        except (OSError, tarfile.TarError, EOFError) as exc:
            problems.append(f"{archive}: the exported files cannot be unpacked ({exc})")
            continue
        names[env_id] = {p.name for p in folder.iterdir() if p.suffix == ".onnx"}
    return names


def onnx_link(row: dict[str, Any], names: dict[str, set[str]]) -> str | None:
    """The site path of the file this cell ran (the exporting environment's), when the site has it."""
    try:
        stem = Cell.from_row({**row, "runtime_env": None}).export_stem(row.get("case_hash"))
    except (KeyError, TypeError, ValueError):  # a row too incomplete to name its file
        return None
    name = f"{stem}.onnx"
    env_id = row.get("env_id")
    if name not in names.get(env_id, ()):
        return None
    return paths.href(f"{paths.files_dir(env_id)}/{name}")
