"""The harness's own cost, as ratios measured in one run (timing goals live here, never in a test).

    python -m matrix.run.bench [--python PATH] [--peer-python PATH] [--host-cells N] [--skip-lineup]

Each figure is given as a ratio to a one-process loop doing the same work, worker starts included:
1. The harness against the project's one-process loop (matrix/worker/bench_loop.py) on the corpus's
   TorchScript cells on onnxruntime's CPU provider (goal: <= 1.25x).
2. The same command again with nothing changed (goal: <= 2 s), and after one case is edited
   (only its cells run); a user's dropped-in --cases-dir with failing exports and no expectations, with the
   default --jobs, --jobs 1 and --jobs 2 (goal: <= 1.25x the loop; --jobs 2 not slower than --jobs 1).
3. A peer side by side (bench_peer.py): onnx-diagnostic's own evaluation() over its 52 eval cases against the
   matrix running the same models as a --cases-dir, both exporters, onnxruntime CPU (goal: <= 1x), and the
   like-for-like pair (its dynamo exporter against the matrix's) beside it.
4. The host alone at scale (bench_host.py): a synthetic corpus of --host-cells tiny cells against a stand-in
   worker, the host's own CPU per cell for a run, a resume and the report (goal: < 2 ms) and its peak memory
   (goal: < 300 MB, not growing with the cells).
5. The quick lineup serially and with --jobs 2 (faster on 2 cores, the same statuses).
6. The operator corpus of one environment with --jobs 2 (bench_ops.py; goal: under 20 minutes, TorchScript
   op cells at 20 a second or more), with the share of the workers' time in export, load, run and the host.
7. The model corpus of one environment with --jobs 2 (bench_models.py; goal: under 15 minutes, no export over
   60 s), both exporters on onnxruntime's CPU, judged against results/models and results/hf.
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
from matrix.results.rows import iter_rows
from matrix.run.bench_host import host_cost
from matrix.run.bench_models import model_corpus
from matrix.run.bench_models import summary as models_summary
from matrix.run.bench_ops import op_corpus
from matrix.run.bench_ops import summary as ops_summary
from matrix.run.bench_peer import PEER_EXPORTERS, has_peer, peer_evaluation, write_cases

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


def bench(python: str, lineup: bool, peer_python: str | None = None, host_cells: int = 0,
          ops_env: str | None = None, models_env: str | None = None) -> dict:
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
        report["rerun_nothing_changed_vs_loop"] = round(again_s / loop_s, 2)
        report["rerun_one_case_edited"]["vs_loop"] = round(edited_s / loop_s, 2)
        if peer_python:
            report["peer"] = peer(peer_python, scratch)
        if host_cells:
            report["host_alone"] = host_cost(scratch / "host", host_cells, first_pass_row(scratch / "user-default"))
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
        if ops_env:
            report["ops"] = op_corpus(ops_env, 2, scratch)
        if models_env:
            report["models"] = model_corpus(models_env, 2, scratch)
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
    for name in ("default", "jobs_1", "jobs_2"):
        result[f"{name}_vs_loop"] = round(result[f"{name}_s"] / loop_s, 2)
    return result


def first_pass_row(out: Path) -> dict:
    """A real row of this bench's run (its size and text): what the host-alone measurement's stand-in answers."""
    for path in sorted((out / "runs").glob("*/*.jsonl")):
        for row in iter_rows(path):
            if row["status"] == "pass":
                return row
    raise SystemExit(f"{out}: no passing row to model the host-alone measurement on")


def peer(python: str, scratch: Path) -> dict:
    """onnx-diagnostic's evaluation() and the matrix on the same 52 models, one after the other, each whole (its
    imports, the matrix's worker starts): with both exporters of each, then like for like (dynamo, 52 cells)."""
    cases = scratch / "odiag_cases"
    result: dict = {"cases": write_cases(python, cases)}
    for name, theirs, ours in (("both_exporters", PEER_EXPORTERS, "torchscript,dynamo"), ("dynamo", "dynamo", "dynamo")):
        peer_run = peer_evaluation(python, theirs)
        wall, _ = timed([sys.executable, "-m", "matrix", "run", "--python", python, "--env-id", "peer", "--out",
                         str(scratch / f"peer-{name}"), "--cases-dir", str(cases), "--no-report", "--verbose", "--fresh",
                         "--exporters", ours, "--runtimes", "ort-cpu", "--opsets", "18", "--time-budget", "0.01"])
        rows = Results(scratch / f"peer-{name}").rows()
        states = [json.loads(p.read_text()) for p in (scratch / f"peer-{name}" / "runs").glob("*/peer.state.json")]
        logs = list((scratch / f"peer-{name}" / "runs").glob("*/peer.worker*.log"))
        starts = sum(p.read_text(errors="replace").count("=== worker start") for p in logs)
        result[name] = {"onnx_diagnostic": peer_run, "matrix": {
            "wall_s": round(wall, 2), "cells": len(rows), "passed": int((rows["status"] == "pass").sum()),
            "cells_s": round(float(rows["duration_s"].sum()), 2), "worker_starts": starts,
            "worker_start_s": states[0].get("start_s") if states else None,
            "confirmed_in_same_worker": int((rows["retry_where"] == "same worker").sum()),
            "confirmed_in_fresh_worker": int((rows["retry_where"] == "fresh worker").sum())},
            "matrix_vs_onnx_diagnostic": round(wall / peer_run["wall_s"], 2)}
    return result


def summary(result: dict) -> list[str]:
    """One line per figure, each against the one-process loop doing the same work, and its goal."""
    user = result["user_cases"]
    lines = [f"corpus TorchScript cells: {result['harness_vs_loop']}x the loop (goal <= 1.25)",
             f"re-run, nothing changed: {result['rerun_nothing_changed_s']} s, {result['rerun_nothing_changed_vs_loop']}x "
             f"the loop (goal <= 2 s); one case edited: {result['rerun_one_case_edited']['vs_loop']}x",
             f"a user's cases with failures: default {user['default_vs_loop']}x the loop (goal <= 1.25), --jobs 1 "
             f"{user['jobs_1_vs_loop']}x, --jobs 2 {user['jobs_2_vs_loop']}x (goal: not slower than --jobs 1)"]
    for name, pair in (result.get("peer") or {}).items():
        if isinstance(pair, dict):
            lines.append(f"onnx-diagnostic's {result['peer']['cases']} eval cases, {name}: the matrix "
                         f"{pair['matrix']['wall_s']} s against onnx-diagnostic's evaluation() {pair['onnx_diagnostic']['wall_s']}"
                         f" s: {pair['matrix_vs_onnx_diagnostic']}x (goal <= 1), {pair['matrix']['worker_starts']} worker starts")
    host = result.get("host_alone")
    if host:
        per = host["host_ms_per_cell"]
        lines.append(f"the host alone at {host['cells']} cells: {per['run']} ms a cell running, {per['resume']} resuming, "
                     f"{per['report']} for the report (goal < 2 ms); peak {host['run']['peak_mb']} MB running, "
                     f"{host['peak_mb']} MB with the report (goal < 300 MB)")
    if "quick_lineup" in result:
        lines.append(f"quick lineup: --jobs 2 {result['quick_lineup']['speedup']}x faster than serial, same statuses: "
                     f"{result['quick_lineup']['same_statuses']}")
    if "ops" in result:
        lines.append(ops_summary(result["ops"]))
    if "models" in result:
        lines.append(models_summary(result["models"]))
    return lines


def only(parser: argparse.ArgumentParser, args: argparse.Namespace, ops_env: str | None, models_env: str | None) -> int:
    """--only-ops / --only-models: one corpus timed, nothing else."""
    env = ops_env if args.only_ops else models_env
    if not env:
        parser.error("--only-ops needs an --ops-env" if args.only_ops else "--only-models needs a --models-env")
    with tempfile.TemporaryDirectory() as scratch:
        if args.only_ops:
            result = {"ops": op_corpus(env, 2, Path(scratch))}
            line = ops_summary(result["ops"])
        else:
            result = {"models": model_corpus(env, 2, Path(scratch))}
            line = models_summary(result["models"])
    print(json.dumps(result, indent=1))
    print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.run.bench")
    parser.add_argument("--python", default=sys.executable, help="worker interpreter (needs torch, onnx, onnxruntime)")
    parser.add_argument("--peer-python", help="an interpreter with onnx-diagnostic beside torch (default: --python "
                        "when it has it; else the side by side is left out)")
    parser.add_argument("--host-cells", type=int, default=10_000, help="cells of the host-alone measurement (0: none)")
    parser.add_argument("--skip-lineup", action="store_true", help="leave out the quick lineup serial vs --jobs 2")
    parser.add_argument("--ops-env", default="torch-2.13.0", help="the lineup entry whose operator corpus is timed "
                        "(about 20 minutes; 'none': left out)")
    parser.add_argument("--only-ops", action="store_true", help="time the operator corpus only")
    parser.add_argument("--models-env", default="torch-2.13.0", help="the lineup entry whose model corpus is timed "
                        "(about 15 minutes; 'none': left out)")
    parser.add_argument("--only-models", action="store_true", help="time the model corpus only")
    args = parser.parse_args(argv)
    peer_python = args.peer_python or (args.python if has_peer(args.python) else None)
    ops_env = None if args.ops_env == "none" else args.ops_env
    models_env = None if args.models_env == "none" else args.models_env
    if args.only_ops or args.only_models:
        return only(parser, args, ops_env, models_env)
    result = bench(args.python, not args.skip_lineup, peer_python, args.host_cells, ops_env, models_env)
    print(json.dumps(result, indent=1))
    print("\n".join(summary(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
