"""Find a Python interpreter by version, including pyenv's when its shims are inactive."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from matrix.envs.uvtool import which_uv


class InterpreterNotFound(LookupError):
    pass


def pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv"):
        try:
            out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=20)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _reports_version(python: str, version: str) -> bool:
    """A pyenv shim exists on PATH but fails unless its version is active: run it to know."""
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def _patch_key(path: Path) -> tuple[int, ...]:
    parts = path.parent.parent.name.split(".")
    return tuple(int(p) if p.isdigit() else -1 for p in parts)


def candidates(version: str) -> list[str]:
    """Where we look, in order: python3.X on PATH, then pyenv's installs of 3.X.*, newest patch first."""
    found = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        found.append(on_path)
    root = pyenv_root()
    if root is not None:
        installs = sorted((root / "versions").glob(f"{version}.*/bin/python"), key=_patch_key, reverse=True)
        found.extend(str(p) for p in installs)
    uv = which_uv()
    if uv:  # Pythons that `uv python install` put in uv's own folder
        try:
            out = subprocess.run([uv, "python", "find", "--no-project", version], capture_output=True,
                                 text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                found.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return list(dict.fromkeys(found))


def find_python(version: str, needed_by: str = "") -> str:
    """The path of a working Python ``version`` (e.g. "3.7"), or InterpreterNotFound saying how to get one."""
    tried = candidates(version)
    for python in tried:
        if _reports_version(python, version):
            return python
    root = pyenv_root()
    where = [f"python{version} on PATH"]
    if root is not None:
        where.append(f"{root}/versions/{version}.*/bin/python")
    for_whom = f" (needed by {needed_by})" if needed_by else ""
    raise InterpreterNotFound(
        f"Python {version}{for_whom} not found: looked for {' and '.join(where)}"
        + (f"; these did not run: {', '.join(tried)}" if tried else "")
        + f". Install it with `pyenv install {version}` or `uv python install {version}`.")
