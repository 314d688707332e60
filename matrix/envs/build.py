"""Build and reuse one virtual environment per lineup entry, keyed by a fingerprint of its pins.

uv makes the venv and installs the pins where it is on PATH; otherwise the stdlib
``venv`` and pip do. An environment whose fingerprint matches is reused as it is.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

from matrix.envs.fingerprint import MARKER, fingerprint
from matrix.envs.interpreters import find_python
from matrix.envs.lineup import Entry
from matrix.envs.uvtool import which_uv
from matrix.paths import ENVS_DIR
from matrix.results.store import StorageError


class EnvBuildError(RuntimeError):
    pass


class UnresolvablePins(ValueError):
    """The pins name releases or combinations that do not exist for this Python: nothing was built."""


def check_resolvable(entry: Entry, interpreter: str, links: list[str]) -> None:
    """Ask the resolver (no install) whether the pins exist for this Python, before building anything."""
    uv = which_uv()
    if uv is None:
        return  # pip has no cheap equivalent on old Pythons; the install itself will say
    link_args = [arg for folder in links for arg in ("--find-links", folder)]
    out = subprocess.run([uv, "pip", "compile", "--quiet", "--no-header", "--python", interpreter, *link_args, "-"],
                         input="\n".join(entry.pins) + "\n", capture_output=True, text=True)
    if out.returncode != 0:
        reason = "\n".join(line for line in out.stderr.strip().splitlines() if line.strip())[-1500:]
        raise UnresolvablePins(f"lineup entry {entry.id}: its pins cannot be installed on Python "
                               f"{entry.python}:\n{reason}")


def pip_find_links() -> list[str]:
    """The find-links folders pip is configured with (where a local CPU torch wheel may lie)."""
    folders = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60)
        for line in out.stdout.splitlines():
            match = re.match(r"^[\w:.-]*find-links='(.*)'$", line.strip())
            if match:
                folders.extend(match.group(1).split())
    except (OSError, subprocess.SubprocessError):
        pass
    return [f for f in dict.fromkeys(folders) if os.path.isdir(f)]


def built_entries(entries: list[Entry], envs_dir: Path = ENVS_DIR) -> list[Entry]:
    """The entries whose environment exists here with its current pins, in lineup order."""
    ready = []
    for entry in entries:
        marker = envs_dir / entry.id / MARKER
        try:
            pins = json.loads(marker.read_text()).get("pins")
        except (OSError, ValueError):
            continue
        if sorted(pins or []) == sorted(entry.pins):
            ready.append(entry)
    return ready


def env_python(env_dir: Path) -> Path:
    return env_dir / "bin" / "python"


def env_size(python: Path) -> int:
    """Bytes an environment takes on disk (its files, links not followed)."""
    return sum(p.stat().st_size for p in python.parent.parent.rglob("*") if p.is_file() and not p.is_symlink())


def _run(command: list[str], what: str, log: Callable[[str], None]) -> None:
    log("$ " + " ".join(command))
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
        raise EnvBuildError(f"{what} failed (exit {out.returncode}):\n{tail}")


def _up_to_date(env_dir: Path, wanted: str) -> bool:
    """Whether ``env_dir`` was built with the fingerprint ``wanted`` (and still has its Python)."""
    marker = env_dir / MARKER
    try:
        return env_python(env_dir).exists() and json.loads(marker.read_text()).get("fingerprint") == wanted
    except (OSError, ValueError, AttributeError):
        return False


def ensure_env(entry: Entry, envs_dir: Path = ENVS_DIR, log: Callable[[str], None] = print) -> Path:
    """The Python of ``entry``'s environment, built first if missing or stale."""
    interpreter = find_python(entry.python, needed_by=f"lineup entry {entry.id}")
    version = subprocess.run([interpreter, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    links = pip_find_links() if entry.find_links else []
    wanted = fingerprint(entry, version, links)
    env_dir = envs_dir / entry.id
    if _up_to_date(env_dir, wanted):  # reusing takes no lock: a read-only clone reuses its environments
        return env_python(env_dir)
    try:
        envs_dir.mkdir(parents=True, exist_ok=True)
        lock = open(envs_dir / f".{entry.id}.lock", "w")
    except OSError as exc:
        raise StorageError(f"{envs_dir}: cannot build {entry.id} there ({exc.strerror or exc})", exc.errno) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs of one entry build it once
        if _up_to_date(env_dir, wanted):  # the other run built it while this one waited
            return env_python(env_dir)
        marker = env_dir / MARKER
        check_resolvable(entry, interpreter, links)
        log(f"[{entry.id}] building environment in {env_dir} (Python {version}, {len(entry.pins)} pins)")
        shutil.rmtree(env_dir, ignore_errors=True)
        uv = which_uv()
        link_args = [arg for folder in links for arg in ("--find-links", folder)]
        if uv:
            _run([uv, "venv", "--quiet", "--python", interpreter, str(env_dir)], f"[{entry.id}] uv venv", log)
            _run([uv, "pip", "install", "--quiet", "--python", str(env_python(env_dir)), *link_args, *entry.pins],
                 f"[{entry.id}] installing {' '.join(entry.pins)}", log)
        else:
            _run([interpreter, "-m", "venv", str(env_dir)], f"[{entry.id}] python -m venv", log)
            _run([str(env_python(env_dir)), "-m", "pip", "install", "--quiet", *link_args, *entry.pins],
                 f"[{entry.id}] pip install {' '.join(entry.pins)}", log)
        marker.write_text(json.dumps({"fingerprint": wanted, "python": version, "pins": list(entry.pins),
                                      "find_links": links}, indent=1))
        return env_python(env_dir)
