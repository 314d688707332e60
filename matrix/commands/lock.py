"""``lock``: entries' ``requires`` re-resolved into ``pins`` (every transitive package), the lineup rewritten."""
from __future__ import annotations

import argparse

from matrix.commands import common
from matrix.envs.lineup import PACKAGE_FIELDS, load_lineup

NAME = "lock"
HELP = "re-resolve entries' requires into pins and rewrite the lineup"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="entry id (default all)")
    parser.add_argument("--models", nargs="*", metavar="PACKAGE",
                        help="lock only the model corpora's packages (model_requires into model_pins, vision_requires "
                        "into vision_pins), or those named (transformers, torchvision); each entry's environment is "
                        "built to try them")
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.envs.lock import lock
    try:
        models = False if args.models is None else (args.models or True)
        entries = lock(load_lineup(args.lineup), args.env, args.lineup, models=models)
    except RuntimeError as exc:  # uv's refusal: the lineup file is left as it was
        common.eprint(f"error: {exc}")
        return 2
    for entry in entries:
        said = ""
        for field, package in PACKAGE_FIELDS.items():
            requires, pins, note = entry.packages(field)
            said += f", {len(pins)} {package} pins" if requires else ""
            said += f"  ({note})" if note else ""
        print(f"{entry.id:<14} {len(entry.pins)} pins{said}")
    return 0
