"""The harness's own overhead, measured on a trivial case: what a cell costs beyond its work.

    python -m matrix bench [--python PATH] [--cells N]

Reports the worker's start (importing torch and the cases), the host's time per cell beyond
the worker's own ``duration_s`` (framing, judging, the row's append), and row appends per
second. Timing goals belong here, never in a test.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from matrix.plan import Selection
from matrix.runner import EnvRunner
from matrix.store import append_row, read_rows
from matrix.wire import Row
from matrix.worker_process import WorkerProcess

BENCH_CASES = Path(__file__).resolve().parent.parent / "tests" / "fake_cases"


def bench(python: str, cells: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        worker = WorkerProcess(python, [BENCH_CASES], out / "exports", out / "worker.log")
        started = time.perf_counter()
        worker.start(300)
        start_s = time.perf_counter() - started
        worker.close()

        opsets = tuple(range(9, 9 + max(1, cells // 2)))
        selection = Selection(cases="^passes$", opsets=opsets, exporters=("torchscript",),
                              runtimes=("ort-cpu", "reference"))
        runner = EnvRunner("bench", python, out, selection, [BENCH_CASES], time_budget_s=0.01,
                           log=lambda message: None, progress=False)
        started = time.perf_counter()
        outcome = runner.run()
        wall = time.perf_counter() - started
        rows, _ = read_rows(outcome.rows_file)
        worker_s = sum(r["duration_s"] or 0 for r in rows)

        path = out / "append.jsonl"
        row = Row(env_id="bench", cell="c", case="c", variant="default", exporter="torchscript",
                  runtime="onnxruntime", status="pass", error="x" * 200).to_dict()
        samples = []
        for _ in range(5):
            began = time.perf_counter()
            for _ in range(200):
                append_row(path, row)
            samples.append(200 / (time.perf_counter() - began))
    return {
        "python": python,
        "worker_start_s": round(start_s, 3),
        "cells": len(rows),
        "run_wall_s": round(wall, 3),
        "worker_cell_s": round(worker_s, 3),
        "host_overhead_per_cell_ms": round((wall - worker_s - start_s) / max(1, len(rows)) * 1000, 2),
        "row_appends_per_s": round(statistics.median(samples)),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m matrix.bench")
    parser.add_argument("--python", default=sys.executable, help="worker interpreter (needs torch, onnx, onnxruntime)")
    parser.add_argument("--cells", type=int, default=20)
    args = parser.parse_args(argv)
    print(json.dumps(bench(args.python, args.cells), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
