"""The operator corpus of one environment, timed (issue 19's goal: under 20 minutes on 2 cores with --jobs 2,
TorchScript op cells at 20 or more a second).

Each exporter is run on its own (``--exporters``) so each has its own wall time; together they are the whole
corpus of ``nox -s ops -- --env ENV``. Where the time goes comes from the rows: each cell's ``stage_s`` (the
seconds of each stage it entered) summed per stage, against the workers' wall (workers x wall); what the
workers' cells do not account for is the host's (planning, the protocol, writing rows) and worker starts.
"""
from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from matrix.paths import REPO_ROOT
from matrix.results.rows import iter_rows
from matrix.run.corpora import OPS

# the stages reported on their own; the rest (build, compare, batch, time, place) are summed as "other"
NAMED_STAGES = ("export", "load", "run")


def op_corpus(env_id: str, jobs: int, scratch: Path) -> dict:
    """Both exporters' op cells in ``env_id``, from a fresh run each, with their wall time and its shares."""
    result: dict = {"env": env_id, "jobs": jobs}
    for exporter in ("torchscript", "dynamo"):
        out = scratch / f"ops-{exporter}"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", env_id, *OPS, "--exporters", exporter,
                               "--jobs", str(jobs), "--fresh", "--no-report", "--out", str(out)],
                              cwd=REPO_ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"the op corpus in {env_id} ({exporter}) failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result[exporter] = shares(out, wall)
    result["wall_s"] = round(result["torchscript"]["wall_s"] + result["dynamo"]["wall_s"], 1)
    return result


def shares(out: Path, wall: float) -> dict:
    """Cells, files, cells a second, and the share of the workers' wall in each stage and outside cells."""
    spent: Counter = Counter()
    verdicts: Counter = Counter()  # judged against results/ops: a second run of a published corpus has no regression
    cells = files = workers = 0
    busy = 0.0
    problems: list[str] = []
    for path in sorted((out / "runs").glob("*/*.jsonl")):
        for row in iter_rows(path, problems):
            if row.get("status") == "skip" and not row.get("stage_s"):
                continue  # a column that cannot run here: no work
            cells += 1
            verdicts[row.get("verdict") or "?"] += 1
            files += row.get("runtime") == "onnxruntime"  # one file, run on each runtime
            busy += row.get("duration_s") or 0.0
            workers = max(workers, row.get("concurrent_workers") or 1)
            for stage, seconds in (row.get("stage_s") or {}).items():
                spent[stage if stage in NAMED_STAGES else "other"] += seconds
    if problems:
        raise SystemExit("the op bench's rows are unreadable: " + "; ".join(problems[:5]))
    capacity = wall * max(workers, 1)
    share = {stage: round(spent[stage] / capacity, 3) for stage in (*NAMED_STAGES, "other")}
    share["outside cells (host, worker starts)"] = round(max(capacity - busy, 0.0) / capacity, 3)
    return {"cells": cells, "files": files, "wall_s": round(wall, 1), "workers": workers,
            "cells_per_s": round(cells / wall, 1), "share_of_workers_wall": share, "verdicts": dict(verdicts)}


def summary(result: dict) -> str:
    script, dynamo = result["torchscript"], result["dynamo"]
    return (f"op corpus in {result['env']} with --jobs {result['jobs']}: {result['wall_s'] / 60:.1f} min "
            f"(goal < 20); TorchScript {script['cells']} cells at {script['cells_per_s']} a second (goal >= 20), "
            f"dynamo {dynamo['cells']} at {dynamo['cells_per_s']}; TorchScript's workers' wall: "
            + ", ".join(f"{k} {v:.0%}" for k, v in script["share_of_workers_wall"].items())
            + "; dynamo's: " + ", ".join(f"{k} {v:.0%}" for k, v in dynamo["share_of_workers_wall"].items()))
