"""Environments reused without a lock (a read-only clone reuses what it has) and a build that cannot start
said in one line."""
from __future__ import annotations

import json
import platform
import sys

import pytest

from matrix.envs.build import ensure_env, env_python
from matrix.envs.fingerprint import MARKER, fingerprint
from matrix.envs.lineup import Entry
from matrix.results.store import StorageError

ENTRY = Entry(id="torch-x", python="3", pins=("numpy==1.0",))


@pytest.fixture(autouse=True)
def this_python(monkeypatch):
    from matrix.envs import build
    monkeypatch.setattr(build, "find_python", lambda spec, needed_by="": sys.executable)


def built(envs, entry=ENTRY, fingerprint_of=None):
    """An environment that looks built: its Python and its marker, with ``entry``'s fingerprint."""
    env_dir = envs / entry.id
    env_python(env_dir).parent.mkdir(parents=True)
    env_python(env_dir).symlink_to(sys.executable)
    wanted = fingerprint(fingerprint_of or entry, platform.python_version(), [])
    (env_dir / MARKER).write_text(json.dumps({"fingerprint": wanted}))
    (envs / f".{entry.id}.lock").mkdir()  # the lock cannot be opened: as in a read-only clone
    return env_dir


def test_an_environment_is_reused_without_taking_the_lock(tmp_path):
    env_dir = built(tmp_path)
    assert ensure_env(ENTRY, tmp_path, log=lambda line: None) == env_python(env_dir)


def test_a_build_that_cannot_take_the_lock_is_one_line(tmp_path):
    built(tmp_path, fingerprint_of=Entry(id="torch-x", python="3", pins=("numpy==2.0",)))
    with pytest.raises(StorageError, match=r"cannot build torch-x there"):
        ensure_env(ENTRY, tmp_path, log=lambda line: None)
