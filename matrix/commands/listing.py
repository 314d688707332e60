"""``list``: the lineup, and whether each entry's Python is on this machine."""
from __future__ import annotations

import argparse
import json

from matrix.commands import common
from matrix.envs.lineup import load_lineup

NAME = "list"
HELP = "the lineup, and whether each entry's Python is here"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="the entries as JSON (id, python, torch, tags, pins)")
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.envs.interpreters import InterpreterNotFound, find_python
    entries = load_lineup(args.lineup)
    if args.json:
        print(json.dumps([{"id": e.id, "python": e.python, "torch": e.torch, "tags": list(e.tags), "pins": list(e.pins),
                           "session": f"matrix({e.id})", "gpu_runtime": e.gpu_runtime or None} for e in entries]))
        return 0
    for entry in entries:
        try:
            where = find_python(entry.python)
        except InterpreterNotFound as exc:
            where = f"MISSING: {exc}"
        gpu = f" (--gpu: {entry.gpu_runtime})" if entry.gpu_runtime else ""
        print(f"{entry.id:<16} python {entry.python:<5} torch {entry.torch:<8} [{','.join(entry.tags)}] {where}{gpu}")
    return 0
