"""Where results come from: the harness's version and commit, recorded in every run and every publication."""
from __future__ import annotations

import functools
import subprocess

from matrix.paths import REPO_ROOT

# Bump when what a cell means changes (a stage, a status, how a row is judged); rows carry SCHEMA_VERSION.
HARNESS_VERSION = "1.1.0"
REPO = REPO_ROOT


@functools.lru_cache(maxsize=None)
def commit() -> str | None:
    """The repository's commit, with "+dirty" when its tracked files differ from it; None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def identity() -> dict[str, str | None]:
    return {"harness_version": HARNESS_VERSION, "commit": commit()}
