"""``envs``: build (or reuse) lineup environments and show their size."""
from __future__ import annotations

import argparse
import time

from matrix.commands import common

NAME = "envs"
HELP = "build (or reuse) lineup environments and show their size"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", help="entry id (repeatable; default all)")
    common.add_lineup(parser)
    common.add_gpu(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.envs.build import ensure_env, env_size
    failed = 0
    for entry in common.lineup_entries(args, args.env):
        started = time.monotonic()
        try:
            python = ensure_env(entry, log=common.eprint)
        except Exception as exc:  # report every entry, then fail
            common.eprint(f"[{entry.id}] FAILED: {exc}")
            failed += 1
            continue
        print(f"{entry.id:<14} {time.monotonic() - started:7.1f} s  {env_size(python) / 2**30:5.2f} GiB  {python}",
              flush=True)
    return 1 if failed else 0
