"""Nothing changed, nothing re-run: which rows of earlier runs still answer today's cells.

A row still answers its cell when the environment is the one that wrote it (its fingerprint:
the lineup entry's pins and Python, or the packages of a ``--python`` interpreter) and the
case's source is the one it ran (its case hash). The same command after a finished run is
then "up to date" without starting anything; after an edit, only the edited case's cells run
and the others' rows are carried over (``reused_from``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable

from matrix.results.rows import append_rows, iter_rows
from matrix.results.store import ResultsError, RunDir, current_hashes, list_runs, read_json
from matrix.run.jobs import Job, Target
from matrix.run.plan import matches

CARRY_BATCH = 1000  # rows carried over from an earlier run are written this many at a time (one fsync each)


def _catalogue_hashes(run: RunDir, env_id: str) -> dict[str, str | None] | None:
    try:
        data = read_json(run.catalogue_file(env_id))
    except ResultsError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        return None
    return {c.get("id"): c.get("case_hash") for c in data["cases"] if isinstance(c, dict)}


def up_to_date(out: Path, env_id: str, fingerprint: str | None, selection: dict[str, Any],
               case_dirs: list[Path]) -> RunDir | None:
    """The finished run of this environment and selection that today's command would only repeat, or None.

    The newest run with this selection decides: finished, written by the same environment, and
    every case file (helpers included) the same as when it ran.
    """
    if fingerprint is None:
        return None
    for run in reversed(list_runs(out)):
        if run.selection() != selection:
            continue
        state = run.env_state(env_id)
        if not state:
            continue
        if state.get("status") != "complete" or state.get("fingerprint") != fingerprint:
            return None
        return run if _catalogue_hashes(run, env_id) == current_hashes(case_dirs) else None
    return None


def reusable_run(out: Path, env_id: str, fingerprint: str | None, exclude: str) -> RunDir | None:
    """The newest finished run of this environment with the same fingerprint: its rows may answer cells again.

    Whether each still answers its cell (the same case hash) is for the caller to check, row by row as it
    streams them (a run of 50,000 cells is not held whole).
    """
    if fingerprint is None:
        return None
    for run in reversed(list_runs(out)):
        if run.run_id == exclude:
            continue
        state = run.env_state(env_id)
        if state.get("status") == "complete" and state.get("fingerprint") == fingerprint:
            return run
    return None


def carry_exports(source: RunDir, target: RunDir, env_id: str, stems: set[str]) -> None:
    """Hard-link (or copy) the exported files of reused cells, so the new run's exports are whole for replay."""
    src, dst = source.exports_dir(env_id), target.exports_dir(env_id)
    if not src.is_dir():
        return
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.iterdir():
        if path.is_file() and path.name.rsplit(".", 1)[0] in stems and not (dst / path.name).exists():
            try:
                os.link(path, dst / path.name)
            except OSError:
                import shutil
                shutil.copy2(path, dst / path.name)


def carry_over(out: Path, env_id: str, fingerprint: str | None, target: Target, jobs: list[Job],
               rerun: re.Pattern[str] | None, note: Callable[[str], None]) -> int:
    """Copy the rows an earlier run of this environment wrote for cells whose case did not change, except the
    cases ``--rerun`` names (streamed, a batch at a time: never the whole earlier run in memory); how many."""
    run = target.run
    source = reusable_run(out, env_id, fingerprint, exclude=run.run_id)
    if source is None:
        return 0
    present = {r["cell"] for r in iter_rows(target.rows)} if target.rows.exists() else set()
    left = {job.cell.key: job for job in jobs if job.cell.key not in present and job.case_hash
            and not (rerun and matches(rerun, job.cell.case, job.cell.variant))}
    batch, stems, carried = [], set(), 0
    for row in iter_rows(source.rows_file(env_id)):
        job = left.pop(row["cell"], None)  # popped: a cell is carried once
        if job is None or row.get("case_hash") != job.case_hash:
            continue
        batch.append(dict(row, run_id=run.run_id, reused_from=row.get("reused_from") or row["run_id"]))
        stems.add(job.cell.export_stem(job.case_hash))
        if len(batch) >= CARRY_BATCH:
            append_rows(target.rows, batch)
            carried, batch = carried + len(batch), []
    append_rows(target.rows, batch)
    carried += len(batch)
    if carried:
        carry_exports(source, run, env_id, stems)
        note(f"{carried} of {len(jobs)} cells reused from run {source.run_id} (same environment, same case)")
    return carried
