"""``compare BASE NEW``: regressions between two runs or results folders (exit 1 on one)."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common

NAME = "compare"
HELP = "regressions between two runs or results folders (exit 1 on one, 3 when cells of BASE are missing in NEW)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base", help="a run id, a run folder, or an out folder (results, reports)")
    parser.add_argument("new", help="a run id, a run folder, or an out folder (results, reports)")
    common.add_out(parser, "where run ids are looked up (default reports/)")
    parser.add_argument("--junit", type=Path, help="write JUnit XML: a testcase per cell of NEW")
    parser.add_argument("--markdown", type=Path, help="write a Markdown summary (for $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--envs", type=common.id_list,
                        help="the environments NEW must hold completely, ID,... (default: every one of BASE)")


def run(args: argparse.Namespace) -> int:
    from matrix.views.compare import MISSING, compare_runs, print_comparison, write_junit, write_markdown
    result = compare_runs(args.out.resolve(), args.base, args.new, args.envs)
    print_comparison(result)
    if args.junit:
        print(f"junit: {write_junit(result, args.junit)}")
    if args.markdown:
        print(f"markdown: {write_markdown(result, args.markdown)}")
    if result.missing:  # a gate that passes on nothing fails, before anything it did compare
        return MISSING
    return 1 if len(result.regressions) else 0
