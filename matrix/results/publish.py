"""Reference results in the repository: finished runs copied into ``results/``, and replays made elsewhere.

    python -m matrix publish [--from reports] [--to results] [--env ID ...] [--run RUN]

``results/`` is an out folder like ``reports/`` (the same Results API reads it), compressed:
per environment of a published run its rows (``<env>.parquet``, ``<env>.replay.parquet``: columnar.py),
catalogue, skipped columns, state, a ``<env>.published.json`` saying when, where and by which
harness it was made, and its exported files (``exports/<env>.tar.gz``). Publishing an
environment makes that run its reference: the newest run with the environment's rows is what
every view shows; older runs stay as its history, rows only (their exported files go).
Files are written byte-for-byte reproducibly (no timestamps in gzip, tar or Parquet), so publishing the same
rows again changes nothing in git. Rows published before Parquet (``.jsonl.gz``) stay readable; ``repack``
rewrites them as Parquet.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.results.archive import gzipped, local_paths_stripped, pack_exports
from matrix.results.columnar import SUFFIX, cell_order, to_parquet
from matrix.results.provenance import identity
from matrix.results.rows import read_rows
from matrix.results.safe import no_link
from matrix.results.store import (
    ROW_FORMS,
    RUNS,
    ResultsError,
    RunDir,
    list_runs,
    read_json,
    readable_rows,
    row_files,
    write_atomic,
    write_json,
)


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
    left_out: list[str] = dataclasses.field(default_factory=list)  # exported files too large to publish, and why


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
            run_ref: str | None = None, exports: bool = True) -> list[Published]:
    """Copy each environment's newest finished run (or ``run_ref``) from ``source`` into ``target``.

    Nothing is followed through a symbolic link (a run folder, a file, an exported file, the target's run
    folder: refused, naming it), an exported file over the size limit is left out (``Published.left_out``
    says which), and no record keeps this machine's absolute paths.
    """
    done = []
    try:
        for env_id in env_ids:
            done.append(_publish_env(source, target, env_id, entries, run_ref, exports))
    except ResultsError as exc:
        raise PublishError(str(exc)) from None
    return done


def _publish_env(source: Path, target: Path, env_id: str, entries: dict[str, Entry], run_ref: str | None,
                 exports: bool = True) -> Published:
    run = _complete_run(source, env_id, run_ref)
    into = RunDir(target, run.run_id)
    for path in (source / RUNS, run.path, run.state_file(env_id), target, target / RUNS, into.path):
        no_link(path)
    into.path.mkdir(parents=True, exist_ok=True)
    meta = run.meta()
    if not into.meta_file.exists():
        write_json(into.meta_file, local_paths_stripped(meta))
    size, left_out = 0, []
    rows, problems = read_rows(no_link(run.rows_file(env_id)))
    if problems:
        raise PublishError("; ".join(problems))
    size += write_rows(into.path / env_id, rows)
    replay, _ = read_rows(no_link(run.rows_file(env_id, replay=True)))
    if replay:
        size += write_rows(into.path / f"{env_id}.replay", replay)
    for name in (f"{env_id}.skips.json", f"{env_id}.replay.skips.json"):
        if no_link(run.path / name).exists():
            size += write_atomic(into.path / name, (run.path / name).read_bytes())
    state = run.env_state(env_id)
    size += write_atomic(into.state_file(env_id), _json(local_paths_stripped(state)))
    catalogue = no_link(run.catalogue_file(env_id))
    size += write_atomic(into.path / f"{env_id}.catalogue.json.gz", gzipped(catalogue.read_bytes()))
    folder = no_link(run.exports_dir(env_id))
    count = len([p for p in folder.glob("*.onnx")]) if exports and folder.is_dir() else 0
    if count:
        archive = into.path / "exports" / f"{env_id}.tar.gz"
        size += write_atomic(no_link(archive), pack_exports(folder, left_out))
        count -= sum(1 for line in left_out if ".onnx:" in line)
    versions = state.get("versions") or {}
    entry = entries.get(env_id)
    published = {"env_id": env_id, "run_id": run.run_id, "published_at": _now(),
                 "run_started": state.get("started"), "run_finished": state.get("finished"),
                 "made_with": {k: meta.get(k) for k in ("harness_version", "commit")},
                 "published_with": identity(), "cpu": versions.get("cpu"), "gpu": versions.get("gpu"),
                 "machine": platform.machine(), "python": versions.get("python"),
                 "pins": list(entry.pins) if entry else None, "versions": versions,
                 "rows": len(rows), "replay_rows": len(replay), "exports": count, "left_out": left_out}
    write_json(into.path / f"{env_id}.published.json", local_paths_stripped(published))
    _retire_older_exports(target, env_id, run.run_id)
    return Published(env_id, run.run_id, len(rows), len(replay), count, size, left_out)


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True, default=str).encode("utf-8")


def _retire_older_exports(target: Path, env_id: str, current: str) -> None:
    """History keeps rows; only the reference keeps its exported files (they are most of the bytes)."""
    for run in list_runs(target):
        if run.run_id != current:
            (run.path / "exports" / f"{env_id}.tar.gz").unlink(missing_ok=True)


def write_rows(stem: Path, rows: list[dict[str, Any]]) -> int:
    """Publish ``rows`` as ``<stem>.parquet``, the one form of that rows file: an earlier form (a ``.jsonl.gz``
    of the same run republished) goes, or a reader would have two. The bytes written."""
    size = write_atomic(stem.with_name(stem.name + SUFFIX), to_parquet(rows))
    for suffix in ROW_FORMS:
        if suffix != SUFFIX:
            stem.with_name(stem.name + suffix).unlink(missing_ok=True)
    return size


def repack(target: Path) -> list[tuple[Path, int, int]]:
    """Rewrite every published rows file of ``target`` still in JSON Lines as Parquet, each checked to read back
    as the same rows before the old file goes; (new file, bytes before, bytes after) of each. A file with an
    unreadable row is refused (PublishError naming it): repacking never drops a row."""
    done = []
    for run in list_runs(target):
        for path in row_files(run.path):
            if not path.name.endswith(".jsonl.gz"):
                continue
            rows, problems = read_rows(no_link(path))
            if problems:
                raise PublishError("; ".join(problems))
            before, stem = path.stat().st_size, path.with_name(path.name[: -len(".jsonl.gz")])
            packed = stem.with_name(stem.name + SUFFIX)
            write_atomic(packed, to_parquet(rows))
            back, problems = read_rows(packed)
            if problems or _lines(back) != _lines(cell_order(rows)):
                packed.unlink()
                raise PublishError(f"{path}: its Parquet form did not read back as the same rows; left as it was")
            path.unlink()
            done.append((packed, before, packed.stat().st_size))
    return done


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
        for env_id in run.replayed_envs():
            rows, problems = read_rows(run.rows_file(env_id, replay=True))
            if problems:
                raise PublishError("; ".join(problems))
            mine = [r for r in rows if r.get("runtime_env") == runtime_env]
            if not mine:
                continue
            published = readable_rows(into.rows_file(env_id, replay=True))
            kept, problems = read_rows(published) if published.exists() else ([], [])
            if problems:
                raise PublishError("; ".join(problems))
            merged = [r for r in kept if r.get("runtime_env") != runtime_env] + mine
            write_rows(into.path / f"{env_id}.replay", merged)
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
            skips = read_json(run.skips_file(env_id, replay=True)) or {}
            new = [c for c in skips.get("columns") or [] if isinstance(c, dict) and c.get("runtime_env") == runtime_env]
            if new:
                record = read_json(into.skips_file(env_id, replay=True)) or {"env_id": env_id, "columns": []}
                keys = {tuple(c.get(k) for k in _COLUMN) for c in new}
                record["columns"] = [c for c in record.get("columns") or []
                                     if tuple(c.get(k) for k in _COLUMN) not in keys] + new
                write_json(into.skips_file(env_id, replay=True), record)
    return added
