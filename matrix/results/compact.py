"""Older runs of a results folder kept as what changed: ``publish --compact-history``.

A published run stays in ``results/`` as history once a newer run of its environment is published. For the
operator corpus that history is most of the bytes (68,700 rows an environment, nearly all of them the same from
one publication to the next), so a superseded run can keep only the rows that differ from the next row of the same
cell in a newer run: same status and same error means "unchanged until then", and the newer row says it. Every view
reads the newest row of each cell, which no compaction touches (the newest run of an environment is never
rewritten); a cell's history loses only repetitions. What a compaction dropped is recorded in the run's
``<env>.published.json`` (``compacted``), and git keeps the full files.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from matrix.results.rows import read_rows
from matrix.results.store import list_runs, read_json, row_files, rows_stem, write_json

SAME = ("status", "error")  # what "unchanged" means for a cell


@dataclasses.dataclass
class Compacted:
    run_id: str
    stem: str
    before: int
    after: int


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row.get("cell"), row.get("runtime_env") or ""


def compact_history(target: Path) -> list[Compacted]:
    """Each superseded rows file of ``target`` rewritten without the rows a newer run repeats; newest first, so a
    row is compared with the next row of its cell that is kept."""
    from matrix.results.publish import write_rows
    runs = list_runs(target)
    later: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = {}  # stem -> cell -> its next newer (status, error)
    done = []
    for run in reversed(runs):
        for path in row_files(run.path):
            stem = rows_stem(path.name) or path.name
            rows, problems = read_rows(path)
            if problems:  # an unreadable row is never dropped by rewriting its file: leave the file as it is
                continue
            newer = later.setdefault(stem, {})
            kept = [r for r in rows if newer.get(_key(r)) != tuple(r.get(f) for f in SAME)] if newer else rows
            for row in rows:
                newer[_key(row)] = tuple(row.get(f) for f in SAME)
            if len(kept) == len(rows):
                continue
            write_rows(path.parent / stem, kept)
            env_id = stem[: -len(".replay")] if stem.endswith(".replay") else stem
            _record(run.path / f"{env_id}.published.json", stem, len(rows), len(kept))
            done.append(Compacted(run.run_id, stem, len(rows), len(kept)))
    return done


def _record(published: Path, stem: str, before: int, after: int) -> None:
    data = read_json(published) if published.exists() else {}
    if not isinstance(data, dict):
        return
    data.setdefault("compacted", {})[stem] = {
        "rows_before": before, "rows_after": after,
        "rule": "rows whose status and error a newer run repeats for the same cell were dropped"}
    write_json(published, data)
