"""CI shards of one run gathered into one out folder: a pure copy, refused where two shards disagree.

    python -m matrix merge SHARD_DIR ... --out DIR
"""
from __future__ import annotations

import shutil
from pathlib import Path

from matrix.results.publish import PublishError
from matrix.results.store import META, RUNS


def merge(shards: list[Path], out: Path) -> list[str]:
    """Gather the runs of several out folders (CI shards of one run id) into ``out``; a pure copy.

    Each environment's files come from one shard; the same file in two shards must be the same
    bytes, or the merge stops naming both. Returns the merged run ids.
    """
    merged: dict[str, set[str]] = {}
    for shard in shards:
        base = shard / RUNS
        if not base.is_dir():
            raise PublishError(f"{shard}: no runs/ folder: not a matrix out folder (or a shard)")
        for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                relative = path.relative_to(base)
                if path.name.startswith(".") or path.name.endswith(".lock"):
                    continue
                target = out / RUNS / relative
                if target.exists():
                    if path.name == META or target.read_bytes() == path.read_bytes():
                        continue
                    raise PublishError(f"{path} and {target} differ: two shards wrote the same file")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            merged.setdefault(folder.name, set()).add(str(shard))
    if not merged:
        raise PublishError("the shards hold no run")
    return sorted(merged)
