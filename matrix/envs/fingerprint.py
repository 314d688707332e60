"""An environment's identity: what makes its rows reusable and its build current.

A lineup environment is its pins, its Python and the wheel folders it was built from (recorded in
its marker file when built); a ``--python`` interpreter is its prefix and what it has installed.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from matrix.envs.lineup import Entry
from matrix.paths import ENVS_DIR

MARKER = ".matrix-env.json"  # in each built environment: its fingerprint, Python and pins


def fingerprint(entry: Entry, python_version: str, find_links: list[str]) -> str:
    data = json.dumps({"python": python_version, "pins": sorted(entry.pins), "find_links": find_links})
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def env_fingerprint(entry: Entry, envs_dir: Path = ENVS_DIR) -> str | None:
    """The identity of the built environment (its pins, Python and wheel folders), as its marker recorded it."""
    try:
        return json.loads((envs_dir / entry.id / MARKER).read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def python_fingerprint(python: str) -> str | None:
    """What a ``--python`` interpreter has installed, cheaply: its prefix and its site-packages listing."""
    try:
        out = subprocess.run([python, "-S", "-c", "import sys; print(sys.prefix); print(sys.version)"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    prefix = out.stdout.splitlines()[0]
    listing = []
    # what PYTHONPATH adds counts too: the worker of a --python run inherits it (runner.EnvRunner)
    extra = [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).is_dir()]
    for site in sorted(Path(prefix).glob("lib/python*/site-packages")) + extra:
        try:
            listing += sorted(p.name for p in site.iterdir() if p.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            return None
    if not listing:
        return None
    return hashlib.sha256(json.dumps([os.path.realpath(python), out.stdout, listing]).encode()).hexdigest()[:16]
