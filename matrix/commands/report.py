"""``report``: the HTML report (reports/index.html) rendered from stored results."""
from __future__ import annotations

import argparse

from matrix.commands import common

NAME = "report"
HELP = "render the HTML report from stored results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_out(parser)
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.views.report import render_report
    index, problems = render_report(args.out.resolve(), lineup=common.lineup_or_none(args.lineup))
    for problem in problems:
        common.eprint(f"report: {problem}")
    common.eprint(f"report: {index}")
    return 0
