"""The bench's host-cost measurement: a synthetic corpus of tiny cases (10,000 cells by default) run by the
host against a stand-in worker (bench_fake_worker.py) that answers each cell at once, so the seconds and the
memory measured are the host's alone: planning, framing, rows streamed to disk, the console, the resume index
and the skips on a second pass, and the report's aggregation of the rows. Goals: under 2 ms of the host's own
time per cell, under 300 MB peak host memory, and no growth of the peak with the cells.

The host's peak is its own (resource.getrusage(RUSAGE_SELF) read at exit), never the stand-in's.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from matrix.paths import REPO_ROOT
from matrix.run.bench_fake_worker import WRAPPER

OPSETS = (9, 11, 13, 17)  # four cells a case: torchscript on onnxruntime's CPU provider
CAPABILITIES = {"exporters": {"torchscript": {"max_opset": 20, "parameters": [
    "model", "args", "f", "input_names", "output_names", "opset_version", "dynamic_axes", "do_constant_folding",
    "keep_initializers_as_inputs"], "torch": "2.13.0+cpu"}},
    "runtimes": {"ort-cpu": {"providers": ["CPUExecutionProvider"], "providers_argument": True, "version": "1.32.0"}},
    "version_keys": {"onnx": "1.23.2", "onnxruntime": "1.32.0"}}
VERSIONS = {"python": "3.11.7", "torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "numpy": "2.4.6",
            "protobuf": "7.36.2", "cpu": "bench", "gpu": None}
# the host as the user runs it, reporting its own peak memory and CPU seconds when it exits
MEASURED_HOST = r"""
import atexit, json, os, resource, runpy, sys
def said():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["MATRIX_BENCH_HOST_USAGE"], "w") as handle:
        worker = resource.getrusage(resource.RUSAGE_CHILDREN)
        json.dump({"peak_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime,
                   "worker_cpu_s": worker.ru_utime + worker.ru_stime}, handle)
atexit.register(said)
sys.argv = ["matrix"] + sys.argv[1:]
runpy.run_module("matrix", run_name="__main__")
"""
TINY_CASE = '"""A tiny synthetic case of the host-cost bench."""\n\n\ndef build():\n    return None, ({n},)\n'


def tiny_corpus(folder: Path, cells: int) -> int:
    """Enough tiny case modules for ``cells`` cells (four opsets each): how many cases."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("")
    count = -(-cells // len(OPSETS))
    for n in range(count):
        (folder / f"tiny_{n:05d}.py").write_text(TINY_CASE.format(n=n))
    return count


def host_run(scratch: Path, out: Path, cases: Path, *extra: str) -> dict:
    """One host command against the stand-in worker: wall seconds, the host's own CPU seconds and peak MB."""
    usage = scratch / "host-usage.json"
    env = dict(os.environ, MATRIX_BENCH_HOST_ONLY=str(scratch / "given.json"), MATRIX_BENCH_HOST_USAGE=str(usage),
               PYTHONPATH=str(REPO_ROOT))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED_HOST, *extra], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"the host-cost run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    measured = json.loads(usage.read_text())
    return {"wall_s": round(wall, 2), "host_cpu_s": round(measured["cpu_s"], 2), "peak_mb": round(measured["peak_mb"]),
            "stand_in_worker_cpu_s": round(measured["worker_cpu_s"], 2)}


def host_cost(scratch: Path, cells: int, row: dict) -> dict:
    """The host's cost at ``cells`` cells: a fresh run, the same run resumed (every cell answered: the resume
    index and the skips over all rows), and the report's aggregation; per cell in milliseconds."""
    scratch.mkdir(parents=True, exist_ok=True)
    cases = scratch / "tiny_cases"
    tiny_corpus(cases, cells)
    (scratch / "given.json").write_text(json.dumps({"capabilities": CAPABILITIES, "versions": VERSIONS, "row": row}))
    wrapper = scratch / "python"
    wrapper.write_text(WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o755)
    out = scratch / "out"
    run = ["run", "--python", str(wrapper), "--env-id", "host", "--out", str(out), "--cases-dir", str(cases),
           "--exporters", "torchscript", "--runtimes", "ort-cpu", "--opsets", ",".join(map(str, OPSETS)),
           "--no-report", "--verbose", "--jobs", "1"]
    first = host_run(scratch, out, cases, *run, "--fresh")
    run_id = next(folder.name for folder in (out / "runs").iterdir() if folder.is_dir())
    resumed = host_run(scratch, out, cases, *run, "--run-id", run_id)
    report = host_run(scratch, out, cases, "report", "--out", str(out))
    planned = len(OPSETS) * len(list(cases.glob("tiny_*.py")))
    per_cell = {name: round(result["host_cpu_s"] / planned * 1000, 3)
                for name, result in (("run", first), ("resume", resumed), ("report", report))}
    return {"cells": planned, "run": first, "resume": resumed, "report": report, "host_ms_per_cell": per_cell,
            "peak_mb": max(first["peak_mb"], resumed["peak_mb"], report["peak_mb"])}
