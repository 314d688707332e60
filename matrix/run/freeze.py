"""``ops freeze``: PyTorch's OpInfo database frozen into cases/ops/opinfo.jsonl, in one environment.

op_db lives in ``torch.testing._internal`` (torch >= 1.7) and needs ``expecttest``, a test-only package no
lineup pins: it is installed into a folder of its own under .cache and put on the worker's path for this one
command, so no environment changes (and no fingerprint) because of it.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from matrix.envs.uvtool import which_uv
from matrix.paths import CACHE_DIR, REPO_ROOT

FROZEN = REPO_ROOT / "cases" / "ops" / "opinfo.jsonl"
EXPECTTEST = "expecttest==0.3.0"
EXTRA = CACHE_DIR / "opinfo-extra"


class FreezeError(RuntimeError):
    """The freeze could not run; the message says what to do."""


def _extra_path(python: str) -> Path:
    """A folder holding expecttest for ``python`` (installed with uv once)."""
    if (EXTRA / "expecttest").is_dir():
        return EXTRA
    command = [which_uv() or "uv", "pip", "install", "--quiet", "--python", python, "--target", str(EXTRA), EXPECTTEST]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        raise FreezeError("uv is not on PATH: pip install -r requirements.txt") from None
    except subprocess.CalledProcessError as exc:
        raise FreezeError(f"installing {EXPECTTEST} failed: {(exc.stderr or '').strip()[-500:]}") from None
    return EXTRA


def freeze(python: str, out: Path = FROZEN, ops: list[str] | None = None) -> dict:
    """Run the freeze in ``python``'s environment; returns its summary (ops, lines, what was left out)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(_extra_path(python)), str(REPO_ROOT)]))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    done = subprocess.run([python, "-m", "matrix.worker.opinfo", str(tmp), *(ops or [])], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise FreezeError(f"the freeze failed in {python} (exit {done.returncode}): {last}")
    os.replace(tmp, out)
    return json.loads(done.stdout)
