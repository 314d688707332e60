"""The harness's own cost, as ratios measured in one run (timing goals live here, never in a test).

    python -m matrix.run.bench [--python PATH] [--skip-lineup]

1. The harness against the project's one-process loop (matrix/worker/bench_loop.py) on the corpus's
   TorchScript cells on onnxruntime's CPU provider, worker start included (goal: <= 1.25x).
2. The same command again with nothing changed (goal: <= 2 s), and after one case is edited
   (only its cells run); a user's dropped-in --cases-dir with failing exports and no expectations, with the
   default --jobs, --jobs 1 and --jobs 2 (goal: <= 1.25x the loop; --jobs 2 not slower than --jobs 1).
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
# What a user drops in with --cases-dir: bare build()s, no expectations, a few deterministic export failures
# (TorchScript has einsum from opset 12 and tril from 14): every failing cell is "not as expected"
USER_CASES = {
    "relu": "torch.nn.ReLU(), (torch.randn(2, 8),)",
    "linear": "torch.nn.Linear(8, 4), (torch.randn(2, 8),)",
    "conv": "torch.nn.Conv2d(3, 4, 3), (torch.randn(1, 3, 8, 8),)",
    "softmax": "torch.nn.Softmax(dim=-1), (torch.randn(2, 8),)",
    "layernorm": "torch.nn.LayerNorm(8), (torch.randn(2, 8),)",
    "einsum": "Lambda(lambda a, b: torch.einsum('bij,bjk->bik', a, b)), (torch.randn(2, 3, 4), torch.randn(2, 4, 5))",
    "tril": "Lambda(torch.tril), (torch.randn(4, 4),)",
}
USER_CASE = """import torch


class Lambda(torch.nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, *args):
        return self.function(*args)


def build():
    return {build}
"""


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
        report["user_cases"] = user_cases(python, scratch)
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


def user_cases(python: str, scratch: Path) -> dict:
    """A dropped-in --cases-dir of 7 small models with a few failing exports and no expectations: the harness
    with its default options, with --jobs 1 and --jobs 2, against the one-process loop on the same 28 cells."""
    corpus = scratch / "user_cases"
    corpus.mkdir()
    (corpus / "__init__.py").write_text("")
    for name, build in USER_CASES.items():
        (corpus / f"{name}.py").write_text(USER_CASE.format(build=build))
    opsets = ["--opsets", "11,13,17,18"]
    loop = [python, "-m", "matrix.worker.bench_loop", "--cases-dir", str(corpus), *opsets, "--time-budget", "0.01"]
    timed(loop)  # warm files
    loop_s, done = timed(loop)
    failed = json.loads(done.stdout.strip().splitlines()[-1])["failed"]
    result = {"cells": len(USER_CASES) * 4, "loop_failed": failed, "loop_s": round(loop_s, 2)}
    for name, extra in (("default", []), ("jobs_1", ["--jobs", "1"]), ("jobs_2", ["--jobs", "2"])):
        wall, _ = harness(python, scratch / f"user-{name}", corpus, "--fresh", *extra, *opsets)
        result[f"{name}_s"] = round(wall, 2)
    rows = Results(scratch / "user-default").rows()
    result["harness_failed"] = int((rows["status"] != "pass").sum())
    result["same_worker_confirmations"] = int((rows["retry_where"] == "same worker").sum())
    result["default_vs_loop"] = round(result["default_s"] / loop_s, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.run.bench")
    parser.add_argument("--python", default=sys.executable, help="worker interpreter (needs torch, onnx, onnxruntime)")
    parser.add_argument("--skip-lineup", action="store_true", help="leave out the quick lineup serial vs --jobs 2")
    args = parser.parse_args(argv)
    result = bench(args.python, not args.skip_lineup)
    print(json.dumps(result, indent=1))
    print(f"harness / one-process loop: {result['harness_vs_loop']}x (goal <= 1.25); nothing changed: "
          f"{result['rerun_nothing_changed_s']} s (goal <= 2 s); a user's cases with failures: "
          f"{result['user_cases']['default_vs_loop']}x the loop (goal <= 1.25), --jobs 1 "
          f"{result['user_cases']['jobs_1_s']} s, --jobs 2 {result['user_cases']['jobs_2_s']} s"
          + (f"; quick lineup --jobs 2 vs serial: {result['quick_lineup']['speedup']}x faster, same statuses: "
             f"{result['quick_lineup']['same_statuses']}" if "quick_lineup" in result else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
