"""The model corpus of one environment, timed (issue 20's goal: both exporters on onnxruntime's CPU under 15
minutes on 2 cores with --jobs 2, no model over 60 s to export, the worker's memory limit still in force).

torch's own architectures (cases/models, at the opsets ``nox -s models`` runs) and the transformers ones
(cases/hf, at the opsets ``results/hf`` holds for the newest entries), each a fresh run with ``--jobs``,
judged against the published reference: a second run of a published corpus shows no regression. Per corpus:
the wall time, the cells a second, the slowest export and how many took over a minute, the largest export's
peak memory against the limit each worker runs under.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from matrix.paths import REPO_ROOT
from matrix.results.rows import iter_rows
from matrix.run.bench_ops import shares
from matrix.run.corpora import HF, MODELS
from matrix.run.worker_process import default_memory_limit_mb

# the transformers corpus at the newest entries' published opsets (17 and 18), not hf_opsets' 18 alone
CORPORA = {"torch's architectures": MODELS, "transformers": [*HF, "--opsets", "17,18"]}
SLOW_EXPORT_S = 60.0


def model_corpus(env_id: str, jobs: int, scratch: Path) -> dict:
    """Both model corpora in ``env_id``, each from a fresh run, with their wall time and export costs."""
    result: dict = {"env": env_id, "jobs": jobs, "memory_limit_mb": default_memory_limit_mb()}
    for name, args in CORPORA.items():
        out = scratch / ("models-" + args[1].split("/")[-1])
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", env_id, *args, "--jobs",
                               str(jobs), "--fresh", "--no-report", "--out", str(out)],
                              cwd=REPO_ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode not in (0, 1):
            raise SystemExit(f"the {name} corpus in {env_id} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result[name] = dict(shares(out, wall), **export_costs(out))
    result["wall_s"] = round(sum(result[name]["wall_s"] for name in CORPORA), 1)
    return result


def export_costs(out: Path) -> dict:
    """The exports' seconds (median, slowest and its cell, those over a minute) and their peak memory."""
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}
    problems: list[str] = []
    for path in sorted((out / "runs").glob("*/*.jsonl")):
        for row in iter_rows(path, problems):
            cell = f"{row.get('case')}/{row.get('variant')} {row.get('exporter')} opset{row.get('opset_requested')}"
            export_s = (row.get("stage_s") or {}).get("export")
            if export_s is not None:
                seconds[cell] = max(seconds.get(cell, 0.0), export_s)  # a file is exported once, run per runtime
            if row.get("export_peak_mb") is not None:
                peaks[cell] = max(peaks.get(cell, 0.0), row["export_peak_mb"])
    if problems:
        raise SystemExit("the model bench's rows are unreadable: " + "; ".join(problems[:5]))
    slowest = max(seconds, key=seconds.get) if seconds else None
    largest = max(peaks, key=peaks.get) if peaks else None
    return {"exports": len(seconds), "median_export_s": round(statistics.median(seconds.values()), 2) if seconds else None,
            "slowest_export": {"cell": slowest, "s": round(seconds[slowest], 1)} if slowest else None,
            "exports_over_60_s": sorted(c for c, s in seconds.items() if s > SLOW_EXPORT_S),
            "largest_export_peak": {"cell": largest, "mb": peaks[largest]} if largest else None}


def summary(result: dict) -> str:
    parts = []
    for name in CORPORA:
        each = result[name]
        slowest, peak = each["slowest_export"] or {}, each["largest_export_peak"] or {}
        parts.append(f"{name}: {each['cells']} cells in {each['wall_s'] / 60:.1f} min, median export "
                     f"{each['median_export_s']} s, slowest {slowest.get('s')} s ({slowest.get('cell')}), "
                     f"{len(each['exports_over_60_s'])} over 60 s (goal 0), largest export peak {peak.get('mb')} MB "
                     f"(limit {result['memory_limit_mb']} MB), verdicts {each['verdicts']}")
    return (f"model corpus in {result['env']} with --jobs {result['jobs']}: {result['wall_s'] / 60:.1f} min "
            "(goal < 15); " + "; ".join(parts))
