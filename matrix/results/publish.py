"""Reference results in the repository, and shards gathered into one run.

    python -m matrix publish [--from reports] [--to results] [--env ID ...] [--run RUN]
    python -m matrix merge SHARD_DIR ... --out DIR

``results/`` is an out folder like ``reports/`` (the same Results API reads it), compressed:
per environment of a published run its rows (``<env>.jsonl.gz``, ``<env>.replay.jsonl.gz``),
catalogue, skipped columns, state, a ``<env>.published.json`` saying when, where and by which
harness it was made, and its exported files (``exports/<env>.tar.gz``). Publishing an
environment makes that run its reference: the newest run with the environment's rows is what
every view shows; older runs stay as its history, rows only (their exported files go).
Files are written byte-for-byte reproducibly (no timestamps in gzip or tar).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import io
import json
import platform
import shutil
import tarfile
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.results.provenance import identity
from matrix.results.store import RUNS, ResultsError, RunDir, list_runs, read_json, read_rows, write_json

EXPORT_SUFFIXES = (".onnx", ".json", ".npz")


class PublishError(ResultsError):
    """Nothing to publish, or a source that cannot be published; the message says which."""


@dataclasses.dataclass
class Published:
    env_id: str
    run_id: str
    rows: int
    replay_rows: int
    exports: int
    bytes: int


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _write(path: Path, data: bytes) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def pack_exports(folder: Path) -> bytes:
    """The exported files of one environment as a reproducible tar.gz (what the site serves and replay reads)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in EXPORT_SUFFIXES:
                info = tarfile.TarInfo(path.name)
                info.size = path.stat().st_size
                info.mode, info.mtime, info.uid, info.gid = 0o644, 0, 0, 0
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
    return _gzip(buffer.getvalue())


def unpack_exports(archive: Path, folder: Path) -> Path:
    """Extract an environment's exported files (once) so replay and the site can read them."""
    marker = folder / ".unpacked"
    if marker.exists() and marker.read_text() == str(archive.stat().st_mtime_ns):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                continue  # flat names only: nothing escapes the folder
            with tar.extractfile(member) as source, open(folder / member.name, "wb") as target:
                shutil.copyfileobj(source, target)
    marker.write_text(str(archive.stat().st_mtime_ns))
    return folder


def _complete_run(source: Path, env_id: str, run_ref: str | None) -> RunDir:
    runs = list_runs(source)
    if run_ref is not None:
        runs = [r for r in runs if r.run_id == run_ref]
        if not runs:
            raise PublishError(f"no run {run_ref!r} under {source / RUNS}")
    for run in reversed(runs):
        if run.env_state(env_id).get("status") == "complete":
            return run
    raise PublishError(f"no finished run of {env_id} under {source / RUNS}: run it first (nox -s 'matrix({env_id})')")


def environments(source: Path) -> list[str]:
    """Every environment with a finished run under ``source``."""
    found = set()
    for run in list_runs(source):
        for state in run.path.glob("*.state.json"):
            env_id = state.name[: -len(".state.json")]
            if run.env_state(env_id).get("status") == "complete":
                found.add(env_id)
    return sorted(found)


def publish(source: Path, target: Path, env_ids: list[str], entries: dict[str, Entry],
            run_ref: str | None = None) -> list[Published]:
    """Copy each environment's newest finished run (or ``run_ref``) from ``source`` into ``target``."""
    done = []
    for env_id in env_ids:
        run = _complete_run(source, env_id, run_ref)
        into = RunDir(target, run.run_id)
        into.path.mkdir(parents=True, exist_ok=True)
        meta = read_json(run.path / "run.json") or {}
        if not (into.path / "run.json").exists():
            write_json(into.path / "run.json", meta)
        size = 0
        rows, problems = read_rows(run.rows_file(env_id))
        if problems:
            raise PublishError("; ".join(problems))
        size += _write(into.path / f"{env_id}.jsonl.gz", _gzip(_lines(rows)))
        replay, _ = read_rows(run.path / f"{env_id}.replay.jsonl")
        if replay:
            size += _write(into.path / f"{env_id}.replay.jsonl.gz", _gzip(_lines(replay)))
        for name in (f"{env_id}.skips.json", f"{env_id}.replay.skips.json", f"{env_id}.state.json"):
            if (run.path / name).exists():
                size += _write(into.path / name, (run.path / name).read_bytes())
        catalogue = run.catalogue_file(env_id)
        size += _write(into.path / f"{env_id}.catalogue.json.gz", _gzip(catalogue.read_bytes()))
        exports = run.exports_dir(env_id)
        count = len([p for p in exports.glob("*.onnx")]) if exports.is_dir() else 0
        if count:
            size += _write(into.path / "exports" / f"{env_id}.tar.gz", pack_exports(exports))
        state = run.env_state(env_id)
        versions = state.get("versions") or {}
        entry = entries.get(env_id)
        published = {"env_id": env_id, "run_id": run.run_id, "published_at": _now(),
                     "run_started": state.get("started"), "run_finished": state.get("finished"),
                     "made_with": {k: meta.get(k) for k in ("harness_version", "commit")},
                     "published_with": identity(), "cpu": versions.get("cpu"), "gpu": versions.get("gpu"),
                     "machine": platform.machine(), "python": versions.get("python"),
                     "pins": list(entry.pins) if entry else None, "versions": versions,
                     "rows": len(rows), "replay_rows": len(replay), "exports": count}
        write_json(into.path / f"{env_id}.published.json", published)
        _retire_older_exports(target, env_id, run.run_id)
        done.append(Published(env_id, run.run_id, len(rows), len(replay), count, size))
    return done


def _retire_older_exports(target: Path, env_id: str, current: str) -> None:
    """History keeps rows; only the reference keeps its exported files (they are most of the bytes)."""
    for run in list_runs(target):
        if run.run_id != current:
            (run.path / "exports" / f"{env_id}.tar.gz").unlink(missing_ok=True)


def _lines(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows).encode("utf-8", "backslashreplace")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def references(target: Path) -> list[dict[str, Any]]:
    """The published.json of every environment's reference (its newest published run), in run order."""
    newest: dict[str, dict] = {}
    for run in list_runs(target):
        for path in sorted(run.path.glob("*.published.json")):
            try:
                meta = read_json(path)
            except ResultsError:
                continue
            if isinstance(meta, dict) and meta.get("env_id"):
                newest[meta["env_id"]] = meta
    return list(newest.values())


# -- shards ------------------------------------------------------------------------------------------

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
                    if path.name == "run.json" or target.read_bytes() == path.read_bytes():
                        continue
                    raise PublishError(f"{path} and {target} differ: two shards wrote the same file")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            merged.setdefault(folder.name, set()).add(str(shard))
    if not merged:
        raise PublishError("the shards hold no run")
    return sorted(merged)


# -- replays made elsewhere (a GPU machine's runtimes on the reference's files) ------------------------

_COLUMN = ("exporter", "opset_requested", "runtime", "provider", "runtime_env")


def publish_replays(source: Path, target: Path, runtime_env: str) -> int:
    """Add the rows ``runtime_env``'s runtimes gave on files of runs that ``target`` holds (``replay --from
    results`` writes them under the exporting run's id) to those runs' replay rows, replacing that runtime
    environment's earlier ones; its skipped replay columns likewise. Returns the rows added."""
    added = 0
    for run in list_runs(source):
        into = RunDir(target, run.run_id)
        if not into.path.is_dir():
            continue  # a replay of files the reference does not hold
        for path in sorted(run.path.glob("*.replay.jsonl")):
            env_id = path.name[: -len(".replay.jsonl")]
            rows, problems = read_rows(path)
            if problems:
                raise PublishError("; ".join(problems))
            mine = [r for r in rows if r.get("runtime_env") == runtime_env]
            if not mine:
                continue
            published = into.path / f"{env_id}.replay.jsonl.gz"
            kept, problems = read_rows(published) if published.exists() else ([], [])
            if problems:
                raise PublishError("; ".join(problems))
            merged = [r for r in kept if r.get("runtime_env") != runtime_env] + mine
            _write(published, _gzip(_lines(merged)))
            added += len(mine)
            # the environment's publication says how many replay rows it has now, and who added which
            record = read_json(into.path / f"{env_id}.published.json")
            if isinstance(record, dict):
                added_by = [a for a in record.get("replays_added") or [] if isinstance(a, dict)
                            and a.get("runtime_env") != runtime_env]
                record["replays_added"] = added_by + [{"runtime_env": runtime_env, "rows": len(mine),
                                                       "published_at": _now(), "published_with": identity()}]
                record["replay_rows"] = len(merged)
                write_json(into.path / f"{env_id}.published.json", record)
            skips = read_json(run.path / f"{env_id}.replay.skips.json") or {}
            new = [c for c in skips.get("columns") or [] if isinstance(c, dict) and c.get("runtime_env") == runtime_env]
            if new:
                record = read_json(into.path / f"{env_id}.replay.skips.json") or {"env_id": env_id, "columns": []}
                keys = {tuple(c.get(k) for k in _COLUMN) for c in new}
                record["columns"] = [c for c in record.get("columns") or []
                                     if tuple(c.get(k) for k in _COLUMN) not in keys] + new
                write_json(into.path / f"{env_id}.replay.skips.json", record)
    return added
