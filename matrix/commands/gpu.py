"""``gpu``: the corpus on onnxruntime's CUDA and CPU providers, then every era's files replayed on both."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.envs.lineup import find_entry, load_lineup
from matrix.paths import RESULTS_DIR
from matrix.run.plan import SelectionError

NAME = "gpu"
HELP = "the corpus on onnxruntime's CUDA and CPU providers side by side, and every era's exported files from " \
       "results/ replayed on both"
RUNTIMES = "ort-cuda,ort-cpu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--python", help="an interpreter with torch, onnx and onnxruntime-gpu (a GPU machine's own)")
    where.add_argument("--env", help="a lineup entry with a gpu_runtime, built as <id>-gpu (default: the newest)")
    parser.add_argument("--env-id", type=common.name("--env-id"), help="the id of --python's environment in the rows")
    common.add_out(parser, "folder the rows go to (default reports/)")
    parser.add_argument("--from", dest="source", type=Path, default=RESULTS_DIR,
                        help="whose exported files to replay (default results/)")
    parser.add_argument("--cases", help="regular expression on 'case' or 'case/variant'")
    common.add_timing(parser)
    common.add_lineup(parser)


def gpu_entry(args: argparse.Namespace):
    """The lineup entry's GPU variant to run (the newest with a gpu_runtime by default)."""
    entries = load_lineup(args.lineup)
    with_gpu = [e for e in entries if e.gpu_runtime]
    if not with_gpu:
        raise SelectionError(f"{args.lineup}: no entry names a gpu_runtime; give --python")
    entry = find_entry(entries, args.env) if args.env else with_gpu[-1]
    if entry.id.endswith("-gpu"):
        return entry
    if not entry.gpu_runtime:
        raise SelectionError(f"lineup entry {entry.id} names no gpu_runtime")
    return entry.for_gpu()


def run(args: argparse.Namespace) -> int:
    """run + replay + report, each as its own command does it, on ort-cuda and ort-cpu."""
    from matrix.commands import replay, report
    from matrix.commands import run as run_command
    from matrix.views.gpu import gpu_summary
    if args.env_id and not args.python:
        raise SelectionError("--env-id names the environment of --python; a lineup entry's id is its own")
    where = {"python": args.python, "env_id": args.env_id} if args.python else {"env": gpu_entry(args).id}
    source = replay.source_folder(args.source)
    common_values = dict(out=args.out, lineup=args.lineup, timeout=args.timeout, time_budget=args.time_budget,
                         runtimes=RUNTIMES, no_report=True, cases=args.cases)
    status = run_command.run(common.namespace(
        run_command, **common_values, **(where if args.python else {"env": [where["env"]], "gpu": True})))
    if status >= 2:  # bad input (a --cases that matches nothing, ...): said already; replaying would hide it
        return status
    status = max(status, replay.run(common.namespace(replay, **common_values, **where, source=source)))
    report.run(common.namespace(report, out=args.out, lineup=args.lineup))
    for line in gpu_summary(args.out.resolve()):
        common.eprint(line)
    return status
