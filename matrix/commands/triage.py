"""``triage``: the cells that are not as expected, grouped, each with the narrowest draft ``Expect``."""
from __future__ import annotations

import argparse

from matrix.commands import common

NAME = "triage"
HELP = "cells that are not as expected, grouped, with the narrowest draft Expect"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_out(parser)
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.views.triage import print_triage, triage
    from matrix.wire import Verdict
    groups = triage(args.out.resolve(), common.lineup_or_none(args.lineup))
    print_triage(groups)
    return 1 if any(g["verdict"] == Verdict.REGRESSION.value for g in groups) else 0
