"""The floor the harness is measured against: the same cells in one bare process, no isolation.

    python -m matrix.worker.bench_loop --cases-dir cases --opsets 9,11,13,17 --time-budget 0.01

Imports torch, onnx and onnxruntime once, then for every case, variant and export option:
build, ``torch.onnx.export`` (TorchScript), ``onnx.checker``, an onnxruntime CPU session, run,
compare with eager PyTorch, run at a second batch size where the case is batchable, and time
the runtime and eager PyTorch within the same budget as the harness. Prints one JSON line:
cells, seconds importing, seconds on cells. Runs inside an environment (Python 3.7+).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import sys
import tempfile
import time


def one_cell(builder, case, options, opset, scratch, timed, time_budget):
    """What the harness does for one TorchScript cell on onnxruntime's CPU, with nothing around it: build,
    export, check, run, compare, a second batch size and the timings. Raises where the cell fails."""
    import numpy
    import onnx
    import onnxruntime
    import torch

    from matrix.worker.outputs import flatten, fresh, rebatch, to_numpy
    from matrix.worker.pipeline import latency
    random.seed(0)
    numpy.random.seed(0)
    torch.manual_seed(0)
    model, inputs = builder()
    inputs = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    model.eval()
    want = to_numpy(flatten(model(*fresh(inputs))))
    names = ["input_%d" % i for i in range(len(flatten(inputs)))]
    outputs = ["output_%d" % i for i in range(len(want))]
    kwargs = {"input_names": names, "output_names": outputs, "opset_version": opset,
              "dynamo": False}
    if options.get("dynamic_axes"):
        kwargs["dynamic_axes"] = {n: {0: "batch"} for n in names + outputs}
    for key in ("keep_initializers_as_inputs", "do_constant_folding"):
        if options.get(key) is not None:
            kwargs[key] = options[key]
    path = os.path.join(scratch, "model.onnx")
    torch.onnx.export(model, tuple(fresh(inputs)), path, **kwargs)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = dict(zip([i.name for i in session.get_inputs()], to_numpy(flatten(inputs))))
    got = session.run(None, feed)
    for g, w in zip(got, want):
        numpy.testing.assert_allclose(g, w, rtol=case.rtol if case else 1e-3, atol=case.atol if case else 1e-4)
    if case is not None and case.batchable:
        more = rebatch(tuple(inputs), int(flatten(inputs)[0].shape[0]) + 1)
        feed2 = dict(zip(feed, to_numpy(flatten(more))))
        session.run(None, feed2)
    latency(lambda: session.run(None, feed), time_budget)
    if builder not in timed:  # eager PyTorch is timed once per model, as the harness does
        timed.add(builder)
        latency(lambda: model(*inputs), time_budget)


def main(argv=None) -> int:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(prog="python -m matrix.worker.bench_loop")
    parser.add_argument("--cases-dir", required=True)
    parser.add_argument("--opsets", default="9,11,13,17")
    parser.add_argument("--time-budget", type=float, default=0.01)
    args = parser.parse_args(argv)
    import onnx  # noqa: F401  (before torch, as the worker imports them; their import is timed apart)
    import onnxruntime  # noqa: F401
    import torch

    import matrix.worker.pipeline  # noqa: F401
    imported = time.perf_counter()

    folder = os.path.abspath(args.cases_dir)
    sys.path.insert(0, os.path.dirname(folder))
    cells = failed = 0
    timed = set()
    scratch = tempfile.mkdtemp()
    with torch.no_grad():
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name.startswith("_"):
                continue
            try:
                module = importlib.import_module("%s.%s" % (os.path.basename(folder), name[:-3]))
            except Exception:
                continue
            case = getattr(module, "CASE", None)
            builders = {k: v for k, v in vars(module).items() if k == "build" or k.startswith("build_")}
            grid = case.option_grid() if case is not None else [{}]
            for builder in builders.values():
                for options in grid:
                    for opset in [int(o) for o in args.opsets.split(",")]:
                        cells += 1
                        try:
                            one_cell(builder, case, options, opset, scratch, timed, args.time_budget)
                        except Exception:
                            failed += 1
    done = time.perf_counter()
    print(json.dumps({"cells": cells, "failed": failed, "imports_s": round(imported - started, 3),
                      "cells_s": round(done - imported, 3), "wall_s": round(done - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
