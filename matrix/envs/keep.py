"""Bounded disk for the whole history: ``run --env A --env B ... --keep-envs N``.

The lineup's environments take 1.5-7 GB each (PyPI's torch wheels pull CUDA libraries), so 26 of them do
not fit beside each other on an ordinary machine. With a bound, a run takes its environments in turn:
each is built (or reused), run, and once it is done the environments this command built beyond the N
most recent are removed. What existed before the command started, and the lineup's quick entries, are
never removed: a bound is about what this command adds, not a cleanup of someone else's work. The uv
cache is left alone (it is what makes a rebuild cheap); bound it with uv's own ``UV_CACHE_DIR``.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

from matrix.envs.lineup import Entry
from matrix.envs.models import GROUPS


def present_envs(envs_dir: Path) -> frozenset[str]:
    """The environment folders in ``envs_dir`` now (lock files and other dot-files are not environments)."""
    try:
        return frozenset(p.name for p in envs_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return frozenset()


def protected_ids(entries: Iterable[Entry]) -> frozenset[str]:
    """The quick entries (and their GPU variants): the ones every day's run needs built."""
    quick = [e.id for e in entries if "quick" in e.tags]
    return frozenset(quick + [f"{env_id}-gpu" for env_id in quick])


@dataclasses.dataclass
class KeepPolicy:
    """Which environments to remove after each one is done, keeping at most ``keep`` of those it built."""

    keep: int
    envs_dir: Path
    before: frozenset[str]
    protected: frozenset[str]
    built: list[str] = dataclasses.field(default_factory=list)  # oldest first, ones this command may remove

    @classmethod
    def start(cls, keep: int, envs_dir: Path, entries: Iterable[Entry]) -> "KeepPolicy":
        return cls(keep, envs_dir, present_envs(envs_dir), protected_ids(entries))

    def to_remove(self, env_id: str) -> list[str]:
        """Record ``env_id`` as done; the ids whose environments go now, oldest first."""
        if env_id in self.before or env_id in self.protected:
            return []
        if env_id in self.built:
            self.built.remove(env_id)
        self.built.append(env_id)
        excess = max(0, len(self.built) - self.keep)
        drop, self.built = self.built[:excess], self.built[excess:]
        return drop

    def done(self, env_id: str, log: Callable[[str], None] = print) -> list[str]:
        """``env_id`` has run: remove what the bound says, and say how much disk came back."""
        removed = []
        for gone in self.to_remove(env_id):
            # the model packages beside it (<id>+models, <id>+vision) go with it: they are of no use without it
            folders = [self.envs_dir / gone] + [self.envs_dir / f"{gone}{g.suffix}" for g in GROUPS.values()]
            size = sum(_size(folder) for folder in folders)
            for folder in folders:
                shutil.rmtree(folder, ignore_errors=True)
            (self.envs_dir / f".{gone}.lock").unlink(missing_ok=True)
            log(f"[{gone}] environment removed (--keep-envs {self.keep}): {size / 2**30:.1f} GiB of links and files")
            removed.append(gone)
        return removed


def run_in_turn(tasks: list, slots: object, keep: int, entries: Iterable[Entry], run_all: Callable,
                log: Callable[[str], None], own_cache: bool = False) -> None:
    """The environments' tasks one at a time, so at most ``keep`` (+ the one running) of those built lie on disk.
    ``own_cache``: each downloads into a uv cache of its own (``UV_CACHE_DIR`` for its build), removed after its
    run; a kept environment keeps its files (they are hard links), so the bound is the environments alone."""
    from matrix.paths import ENVS_DIR
    policy = KeepPolicy.start(keep, ENVS_DIR, entries)
    before = os.environ.get("UV_CACHE_DIR")
    for task in tasks:
        cache = ENVS_DIR / ".uv-cache" / task.env_id
        if own_cache:
            os.environ["UV_CACHE_DIR"] = str(cache)
        try:
            run_all([task], slots)
        finally:
            if own_cache:
                _restore("UV_CACHE_DIR", before)
                log(f"[{task.env_id}] its uv cache removed (--own-uv-cache): {_size(cache) / 2**30:.1f} GiB")
                shutil.rmtree(cache, ignore_errors=True)
        policy.done(task.env_id, log=log)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _size(folder: Path) -> int:
    """Bytes under ``folder`` (hard links into the uv cache count: removing them frees only what the cache
    does not also hold)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
