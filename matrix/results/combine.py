"""Op shards of one environment (one run id, disjoint --cases) made into that environment's one run.

`merge` copies each environment's files from the one shard that has them and refuses two shards that wrote
the same file differently; the workflow's op shards do exactly that by design (the same environment, the same
run id, each a range of the op corpus). This puts them together first, one out folder per environment, which
`merge` then gathers like the pitfall shards: the rows concatenated (a cell in two shards is refused), the
skipped columns' counts added, the states summed (complete only when every shard is), run.json's selection
the union of the shards' --cases, the catalogues (every shard's lists the whole corpus) the same bytes.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from matrix.results.rows import read_rows
from matrix.results.safe import ResultsError
from matrix.results.store import RUNS, RunDir, read_json, write_atomic, write_json


class CombineError(ResultsError):
    pass


def _shard_runs(shards: list[Path]) -> dict[tuple[str, str], list[RunDir]]:
    """(run id, environment) -> the shards' runs that hold it, in the order given."""
    found: dict[tuple[str, str], list[RunDir]] = {}
    for shard in shards:
        for folder in sorted(p for p in (shard / RUNS).iterdir() if p.is_dir() and not p.is_symlink()):
            run = RunDir(shard, folder.name)
            for state in sorted(folder.glob("*.state.json")):
                found.setdefault((run.run_id, state.name[: -len(".state.json")]), []).append(run)
    return found


def combine(shards: list[Path], out: Path) -> list[Path]:
    """Each environment of ``shards`` into ``out/<env>/``, an out folder of its own; returns those folders."""
    made = []
    for (run_id, env_id), runs in sorted(_shard_runs(shards).items()):
        into = RunDir(out / env_id, run_id)
        if into.path.exists():
            raise CombineError(f"{into.path} exists already: combine into an empty folder")
        into.path.mkdir(parents=True)
        write_json(into.meta_file, _meta([run.meta() for run in runs]))
        write_json(into.state_file(env_id), _state([run.env_state(env_id) for run in runs], env_id))
        _rows(runs, into, env_id)
        _same_bytes([run.catalogue_file(env_id) for run in runs], into.path)
        for replay in (False, True):
            skips = [read_json(run.skips_file(env_id, replay)) for run in runs if run.skips_file(env_id, replay).exists()]
            if skips:
                write_json(into.skips_file(env_id, replay), _skips(skips))
        logs = [run.log_file(env_id) for run in runs if run.log_file(env_id).exists()]
        write_atomic(into.log_file(env_id), [log.read_bytes() for log in logs])
        for run in runs:
            _exports(run.exports_dir(env_id), into.exports_dir(env_id))
        made.append(out / env_id)
    if not made:
        raise CombineError("the shards hold no environment's run")
    return made


def _meta(metas: list[dict[str, Any]]) -> dict[str, Any]:
    first = dict(metas[0])
    strip = lambda meta: {**meta, "created": None, "selection": {**(meta.get("selection") or {}), "cases": None}}
    for meta in metas[1:]:
        if strip(meta) != strip(first):
            raise CombineError(f"run {first.get('run_id')}: the shards' run.json differ beyond --cases and start: "
                               f"{json.dumps(strip(first))} against {json.dumps(strip(meta))}")
    first["created"] = min(meta.get("created") or "" for meta in metas)
    patterns = [meta.get("selection", {}).get("cases") or ".*" for meta in metas]
    first["selection"] = {**first.get("selection", {}), "cases": "|".join(f"(?:{p})" for p in patterns)}
    return first


def _state(states: list[dict[str, Any]], env_id: str) -> dict[str, Any]:
    combined = dict(states[0])
    for state in states[1:]:
        if state.get("fingerprint") != combined.get("fingerprint") or state.get("versions") != combined.get("versions"):
            raise CombineError(f"{env_id}: the shards ran in different environments (fingerprint or versions differ)")
    for key in ("done", "planned"):
        combined[key] = sum(int(state.get(key) or 0) for state in states)
    combined["started"] = min(state.get("started") or "" for state in states)
    combined["finished"] = max(state.get("finished") or "" for state in states)
    unfinished = [state.get("status") for state in states if state.get("status") != "complete"]
    combined["status"] = unfinished[0] if unfinished else "complete"
    return combined


def _rows(runs: list[RunDir], into: RunDir, env_id: str) -> None:
    for replay in (False, True):
        seen: set[str] = set()
        lines = []
        for run in runs:
            rows, problems = read_rows(run.rows_file(env_id, replay))
            if problems and run.rows_file(env_id, replay).exists():
                raise CombineError("; ".join(problems))
            for row in rows:
                key = f"{row.get('cell')}@{row.get('runtime_env')}"
                if key in seen:
                    raise CombineError(f"{env_id}: cell {row.get('cell')} is in two shards")
                seen.add(key)
                lines.append((json.dumps(row, sort_keys=True) + "\n").encode())
        if lines or not replay:
            write_atomic(into.rows_file(env_id, replay), lines)


def _same_bytes(paths: list[Path], folder: Path) -> None:
    first = paths[0].read_bytes()
    for path in paths[1:]:
        if path.read_bytes() != first:
            raise CombineError(f"{paths[0]} and {path} differ: the shards saw different corpora")
    write_atomic(folder / paths[0].name, first)


def _skips(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns decided not applicable, once each, their cell counts added up across the shards."""
    combined = {key: value for key, value in records[0].items() if key != "columns"}
    columns: dict[str, dict[str, Any]] = {}
    for record in records:
        for column in record.get("columns", []):
            key = json.dumps({k: v for k, v in column.items() if k != "cells"}, sort_keys=True)
            if key in columns:
                columns[key]["cells"] = columns[key].get("cells", 0) + column.get("cells", 0)
            else:
                columns[key] = dict(column)
    return {**combined, "columns": list(columns.values())}


def _exports(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_symlink() or not path.is_file():
            raise CombineError(f"{path}: not a plain file in a shard's exports")
        if (target / path.name).exists() and (target / path.name).read_bytes() != path.read_bytes():
            raise CombineError(f"{path}: two shards exported different files under one name")
        shutil.copy2(path, target / path.name)
