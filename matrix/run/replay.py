"""Other environments' exported files run with one environment's runtimes.

A file that fails everywhere is the exporter's bug; one that fails only on its own
environment's runtime is the runtime's. The files come from a source folder (default: the out
folder itself; ``results`` replays every era's published files); rows go into the out folder,
in a run of the same id as the exporting one, as that environment's replay rows.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

from matrix.results.store import ResultsError, RunDir, read_json, write_json
from matrix.run.jobs import EnvOutcome, Job, Target
from matrix.run.plan import Selection
from matrix.run.runner import EnvRunner
from matrix.wire import Cell

CELL_KEYS = (("case", str), ("variant", str), ("exporter", str), ("opset", int))


def replay(runner: EnvRunner, source: Path | None = None, only: set[str] | None = None) -> list[EnvOutcome]:
    """Run every other environment's exported files (``only`` these environments' where given) with ``runner``'s
    runtimes: one outcome each."""
    from matrix.results.read import Results  # pandas: only when replaying
    outcomes = []
    runner.replaying = True
    for env_id, origin, folder in Results(source or runner.out).exports(exclude=runner.env_id):
        if only is not None and env_id not in only:
            continue
        target = Target(RunDir(runner.out, origin.run_id), env_id, replay=True)
        jobs = replay_jobs(folder, env_id, runner.env_id, runner.selection)
        if not jobs:
            continue
        started = time.monotonic()
        outcome = EnvOutcome(env_id, origin.run_id, target.rows)
        cases = _origin_cases(runner, origin, target.run, env_id)
        runner.run_jobs(target, jobs, cases, outcome)
        outcome.wall_s = time.monotonic() - started
        outcomes.append(outcome)
    return outcomes


def _origin_cases(runner: EnvRunner, origin: RunDir, run: RunDir, env_id: str) -> dict[str, dict]:
    """The exporting run's cases (their expectations judge the replay), copied beside the replay rows so
    the out folder's report knows them too."""
    try:
        catalogue = read_json(origin.catalogue_file(env_id)) or {}
    except ResultsError as exc:
        runner.note(f"{exc}; replaying {env_id} without its expectations")
        catalogue = {}
    if run.path != origin.path:
        run.path.mkdir(parents=True, exist_ok=True)
        if not run.meta_file.exists():
            write_json(run.meta_file, origin.meta() or {"run_id": run.run_id})
        write_json(run.catalogue_file(env_id), catalogue)
    return {c["id"]: c for c in catalogue.get("cases", []) if isinstance(c, dict) and "id" in c}


def run_replay(runner: EnvRunner, source: Path | None = None, only: set[str] | None = None) -> list[EnvOutcome]:
    """``replay``, with the runner's workers let go afterwards (killed at once when interrupted)."""
    try:
        outcomes = replay(runner, source, only)
    except BaseException:
        runner._close(interrupted=True)
        raise
    runner._close()
    return outcomes


def replay_jobs(folder: Path, env_id: str, runtime_env: str, selection: Selection) -> list[Job]:
    """One job per successful export x selected runtime, keyed apart from the native cells."""
    from matrix.adapters import RUNTIMES
    pattern = re.compile(selection.cases)
    jobs = []
    for sidecar in sorted(folder.glob("*.json")):
        try:
            exported = read_json(sidecar)
        except ResultsError:
            continue
        # a sidecar that cannot name its cell is no cell to replay (the worker refuses one that lacks the rest)
        if not isinstance(exported, dict) or not exported.get("ok") or not all(
                isinstance(exported.get(key), kind) for key, kind in CELL_KEYS):
            continue
        if not (pattern.search(str(exported["case"])) or pattern.search(f"{exported['case']}/{exported.get('variant')}")):
            continue
        for name in selection.runtimes:
            adapter = RUNTIMES[name]
            cell = Cell(exported["case"], exported["variant"], exported["exporter"], exported["opset"],
                        adapter.runtime, adapter.provider, exported.get("options") or {}, runtime_env=runtime_env)
            jobs.append(Job(cell, kind="replay", export=str(sidecar), case_hash=exported.get("case_hash"),
                            env_id=env_id))
    return jobs
