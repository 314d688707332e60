"""``diff BEFORE AFTER``: the cells that broke, got fixed or fail differently between two environments."""
from __future__ import annotations

import argparse

from matrix.commands import common
from matrix.results.store import ResultsError

NAME = "diff"
HELP = "cells that broke, got fixed or fail differently from one environment to another"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("before", help="environment id, e.g. torch-2.13.0")
    parser.add_argument("after", help="environment id, e.g. torch-2.15.0")
    common.add_out(parser, "out or results folder (default reports/)")


def run(args: argparse.Namespace) -> int:
    from matrix.results.read import Results
    from matrix.views.diff import print_diff, release_diff
    from matrix.views.frames import current_view
    view = current_view(Results(args.out.resolve()).rows())
    known = sorted(set(view["env_id"])) if not view.empty else []
    for env_id in (args.before, args.after):
        if env_id not in known:
            raise ResultsError(f"no rows of {env_id!r} under {args.out}; environments there: {', '.join(known) or 'none'}")
    print_diff(release_diff(view, args.before, args.after), args.before, args.after)
    return 0
