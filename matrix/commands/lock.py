"""``lock``: entries' ``requires`` re-resolved into ``pins`` (every transitive package), the lineup rewritten."""
from __future__ import annotations

import argparse

from matrix.commands import common
from matrix.envs.lineup import load_lineup

NAME = "lock"
HELP = "re-resolve entries' requires into pins and rewrite the lineup"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="entry id (default all)")
    parser.add_argument("--models", action="store_true",
                        help="lock only model_requires into model_pins (each entry's environment is built to try them)")
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.envs.lock import lock
    try:
        entries = lock(load_lineup(args.lineup), args.env, args.lineup, models=args.models)
    except RuntimeError as exc:  # uv's refusal: the lineup file is left as it was
        common.eprint(f"error: {exc}")
        return 2
    for entry in entries:
        models = f", {len(entry.model_pins)} model pins" if entry.model_requires else ""
        print(f"{entry.id:<14} {len(entry.pins)} pins{models}{'  (' + entry.model_note + ')' if entry.model_note else ''}")
    return 0
