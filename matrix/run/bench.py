"""The harness's own cost, as ratios measured in one run (timing goals live here, never in a test).

    python -m matrix.run.bench [--python PATH] [--skip-lineup]

1. The harness against the project's one-process loop (matrix/worker/bench_loop.py) on the corpus's
   TorchScript cells on onnxruntime's CPU provider, worker start included (goal: <= 1.25x).
2. The same command again with nothing changed (goal: <= 2 s), and after one case is edited
   (only its cells run).
3. The quick lineup serially and with --jobs 2 (faster on 2 cores, the same statuses).
Also where the worker's start goes, as the worker itself reports it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from matrix.paths import CASES_DIR, REPO_ROOT
from matrix.results.read import Results

REPO = REPO_ROOT
CASES = CASES_DIR
TORCHSCRIPT = ["--exporters", "torchscript", "--runtimes", "ort-cpu", "--opsets", "9,11,13,17", "--time-budget", "0.01"]
QUICK = ["torch-1.4.0", "torch-2.13.0"]


def timed(command: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, done


def harness(python: str, out: Path, cases: Path, *extra: str) -> tuple[float, subprocess.CompletedProcess]:
    return timed([sys.executable, "-m", "matrix", "run", "--python", python, "--env-id", "bench", "--out", str(out),
                  "--cases-dir", str(cases), "--no-report", "--verbose", *TORCHSCRIPT, *extra])


def statuses(out: Path) -> dict[tuple[str, str], str]:
    rows = Results(out).rows()
    return {(r["env_id"], r["cell"]): r["status"] for r in rows.to_dict("records")}


def bench(python: str, lineup: bool) -> dict:
    report: dict = {"python": python}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        corpus = scratch / "cases"
        shutil.copytree(CASES, corpus)
        # 1. the floor, then the harness on the same cells (each once before, so both read warm files)
        timed([python, "-m", "matrix.worker.bench_loop", "--cases-dir", str(corpus), "--opsets", "9", "--time-budget", "0.01"])
        loop_s, loop = timed([python, "-m", "matrix.worker.bench_loop", "--cases-dir", str(corpus), "--opsets", "9,11,13,17",
                              "--time-budget", "0.01"])
        floor = json.loads(loop.stdout.strip().splitlines()[-1])
        harness_s, run = harness(python, scratch / "out", corpus, "--fresh")
        cells = len(Results(scratch / "out").rows())
        start = json.loads((next((scratch / "out" / "runs").glob("*/bench.state.json"))).read_text()).get("start_s")
        report["loop"] = {"wall_s": round(loop_s, 2), "cells": floor["cells"], "imports_s": floor["imports_s"],
                          "cells_s": floor["cells_s"]}
        report["harness"] = {"wall_s": round(harness_s, 2), "rows": cells, "worker_start_s": start}
        report["harness_vs_loop"] = round(harness_s / loop_s, 2)
        # 2. nothing changed; then one case edited
        again_s, _ = harness(python, scratch / "out", corpus)
        report["rerun_nothing_changed_s"] = round(again_s, 2)
        case = corpus / "expand_minus_one.py"
        case.write_text(case.read_text() + "\n# edited for the benchmark\n")
        edited_s, edited = harness(python, scratch / "out", corpus)
        ran = [line for line in edited.stderr.splitlines() if "run now" in line]
        report["rerun_one_case_edited"] = {"wall_s": round(edited_s, 2), "summary": ran[-1] if ran else ""}
        # 3. the quick lineup, serially then two at a time
        if lineup:
            args = [sys.executable, "-m", "matrix", "run", *[a for e in QUICK for a in ("--env", e)], "--fresh",
                    "--no-report", "--verbose", "--time-budget", "0.05"]
            timed([*args, "--jobs", "1", "--out", str(scratch / "warm"), "--cases", "basic_export"])  # builds envs
            serial_s, _ = timed([*args, "--jobs", "1", "--out", str(scratch / "serial")])
            parallel_s, _ = timed([*args, "--jobs", "2", "--out", str(scratch / "parallel")])
            same = statuses(scratch / "serial") == statuses(scratch / "parallel")
            report["quick_lineup"] = {"serial_s": round(serial_s, 1), "jobs_2_s": round(parallel_s, 1),
                                      "speedup": round(serial_s / parallel_s, 2), "same_statuses": same}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.run.bench")
    parser.add_argument("--python", default=sys.executable, help="worker interpreter (needs torch, onnx, onnxruntime)")
    parser.add_argument("--skip-lineup", action="store_true", help="leave out the quick lineup serial vs --jobs 2")
    args = parser.parse_args(argv)
    result = bench(args.python, not args.skip_lineup)
    print(json.dumps(result, indent=1))
    print(f"harness / one-process loop: {result['harness_vs_loop']}x (goal <= 1.25); nothing changed: "
          f"{result['rerun_nothing_changed_s']} s (goal <= 2 s)"
          + (f"; quick lineup --jobs 2 vs serial: {result['quick_lineup']['speedup']}x faster, same statuses: "
             f"{result['quick_lineup']['same_statuses']}" if "quick_lineup" in result else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
