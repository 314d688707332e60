"""``ops``: the operator corpus frozen from PyTorch's OpInfo database, and look-ups in its results."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.envs.lineup import find_entry, load_lineup

NAME = "ops"
HELP = "the operator corpus: freeze it from torch's OpInfo database, read each release's registry, query results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="{freeze,registry,query}")
    freeze = actions.add_parser("freeze", help="write cases/ops/opinfo.jsonl from the newest environment's op_db")
    freeze.add_argument("--env", help="the environment to freeze from (default: the newest lineup entry)")
    freeze.add_argument("--out", type=Path, help="where to write (default cases/ops/opinfo.jsonl)")
    freeze.add_argument("names", nargs="*", help="only these OpInfo names (default every one)")
    common.add_lineup(freeze)
    registry = actions.add_parser("registry", help="read each environment's exporter registries for every op case")
    registry.add_argument("--env", action="append", required=True, help="a lineup entry (repeatable)")
    registry.add_argument("--out", type=Path, default=None, help="where registry/ goes (default reports/ops)")
    registry.add_argument("names", nargs="*", help="only these OpInfo names (default every one)")
    common.add_lineup(registry)
    query = actions.add_parser("query", help="where an op works, from published results (no environment)")
    query.add_argument("op", help="the OpInfo name, e.g. roll or nn.functional.conv2d")
    query.add_argument("--torch", help="a torch release, or its prefix (2.6 is 2.6.x)")
    query.add_argument("--opset", type=int, help="only this opset of the file")
    query.add_argument("--runtime", help="a runtime name (onnxruntime, reference, openvino, caffe2)")
    query.add_argument("--exporter", help="torchscript or dynamo")
    query.add_argument("--results", type=Path, default=None, help="the op corpus's results (default results/ops)")


def _freeze(args: argparse.Namespace) -> int:
    from matrix.envs.build import ensure_env
    from matrix.run.freeze import FROZEN, freeze
    entries = load_lineup(args.lineup)
    entry = find_entry(entries, args.env) if args.env else entries[-1]
    python = str(ensure_env(entry, log=common.eprint))
    out = args.out or FROZEN
    summary = freeze(python, out, args.names)
    left = ", ".join(f"{count} {why}" for why, count in summary["left_out"].items()) or "nothing"
    print(f"{out}: {summary['ops']} OpInfos in {summary['lines']} op-dtype samples from torch "
          f"{summary['frozen_from']['torch']} ({summary['opinfos']} in op_db); left out: {left}")
    return 0


def _query(args: argparse.Namespace) -> int:
    from matrix.run.reference import reference_folder
    from matrix.views.ops import QueryError, answer
    try:
        text, found = answer(args.results or reference_folder("ops"), args.op, torch=args.torch, opset=args.opset,
                             runtime=args.runtime, exporter=args.exporter)
    except QueryError as exc:
        common.eprint(f"error: {exc}")
        return 2
    print(text)
    return 0 if found else 3


def _registry(args: argparse.Namespace) -> int:
    from matrix.envs.build import ensure_env
    from matrix.paths import DEFAULT_OUT
    from matrix.run.registry import run_registry
    entries = load_lineup(args.lineup)
    for env_id in args.env:
        python = str(ensure_env(find_entry(entries, env_id), log=common.eprint))
        path, done = run_registry(python, env_id, args.out or DEFAULT_OUT / "ops", args.names, log=common.eprint)
        print(f"{path}: {done['cases']} op cases ({done['traced']} traced), {done['aten_ops']} ATen ops, "
              f"{done['seconds']} s, {done['worker_starts']} worker start(s)")
    return 0


def run(args: argparse.Namespace) -> int:
    return {"freeze": _freeze, "registry": _registry}.get(args.action, _query)(args)
