"""CI shards of one run gathered into one out folder: a pure copy, refused where two shards disagree.

    python -m matrix merge SHARD_DIR ... --out DIR

A shard is untrusted input (an artifact anyone's job uploaded): a symbolic link anywhere in it (a run
folder, a file, a folder of exports) is refused, naming it, and never followed; so is one in the out
folder's place of a run (``--out/runs/<id>``), which would make the merge write wherever it points.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from matrix.results.publish import PublishError
from matrix.results.safe import ResultsError, no_link
from matrix.results.store import META, RUNS, read_json

# What every shard of one run must agree on in its run.json: the rows of shards made by other harnesses, or
# with other selections, are not one run.
AGREED = ("harness_version", "selection")


def merge(shards: list[Path], out: Path) -> list[str]:
    """Gather the runs of several out folders (CI shards of one run id) into ``out``; a pure copy.

    Each environment's files come from one shard; the same file in two shards must be the same
    bytes (run.json: the same harness version and selection), or the merge stops naming both.
    Returns the merged run ids.
    """
    merged: dict[str, set[str]] = {}
    try:
        for shard in shards:
            for folder in _run_folders(shard):
                _check_target(out, folder.name)
                for path in _files(folder):
                    _copy(path, out / RUNS / path.relative_to(folder.parent))
                merged.setdefault(folder.name, set()).add(str(shard))
    except ResultsError as exc:
        raise PublishError(str(exc)) from None
    if not merged:
        raise PublishError("the shards hold no run")
    return sorted(merged)


def _run_folders(shard: Path) -> list[Path]:
    base = no_link(shard / RUNS, "a shard's runs folder")
    if not base.is_dir():
        raise PublishError(f"{shard}: no runs/ folder: not a matrix out folder (or a shard)")
    return sorted(no_link(p, "a run folder") for p in base.iterdir() if not p.name.startswith(".")
                  and (p.is_symlink() or p.is_dir()))


def _files(folder: Path) -> list[Path]:
    """Every file under ``folder`` to copy (lock files and hidden ones aside); a link anywhere is refused."""
    found = []
    for path in sorted(folder.rglob("*")):  # rglob never descends into a linked folder: each is named here
        no_link(path, "in a shard")
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".lock"):
            found.append(path)
    return found


def _check_target(out: Path, run_id: str) -> None:
    """The run's folder in ``out`` and the folders above it are plain folders, never links to elsewhere."""
    for path in (out, out / RUNS, out / RUNS / run_id):
        no_link(path, "in --out")


def _copy(path: Path, target: Path) -> None:
    for folder in [target, *target.parents[:-1]]:  # every folder on the way, up to --out's runs/
        no_link(folder, "in --out")
        if folder.name == RUNS:
            break
    if target.exists():
        if path.name == META:
            _same_run(path, target)
            return
        if target.read_bytes() == path.read_bytes():
            return
        raise PublishError(f"{path} and {target} differ: two shards wrote the same file")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target, follow_symlinks=False)


def _same_run(path: Path, target: Path) -> None:
    """Two shards' run.json of one run id: the same harness and selection, or the merge stops naming both."""
    mine, theirs = read_json(path) or {}, read_json(target) or {}
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        raise PublishError(f"{path} or {target}: not a run's record")
    for key in AGREED:
        if mine.get(key) != theirs.get(key):
            raise PublishError(f"{path} and {target} disagree on {key} ({mine.get(key)!r} against "
                               f"{theirs.get(key)!r}): not shards of one run")
