"""``triage``: failures grouped, each group with the narrowest filter that covers it.

A pitfall folder (reports/, results/): the cells that are not as expected, each group with a draft ``Expect``.
An op folder (results/ops, reports/ops; or ``--corpus ops``): every failing op cell, grouped by error signature,
largest first, each group with its filter over op, dtype, exporter, runtime, opset and torch, and an example's
reproduction command; ``--json`` and ``--markdown`` write the groups for scripts and issues.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from matrix.commands import common
from matrix.paths import DEFAULT_OUT

NAME = "triage"
HELP = "failures grouped (pitfalls: not as expected, with a draft Expect; ops: by error signature, with a filter)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_out(parser, "the out folder (default reports/; with --corpus ops, results/ops)")
    common.add_lineup(parser)
    parser.add_argument("--corpus", choices=("auto", "pitfalls", "ops"), default="auto",
                        help="what the folder holds (default: ops where most of its cases are op cases)")
    parser.add_argument("--env", type=common.id_list, help="ops: only these environments, ID,... (default every one)")
    parser.add_argument("--unexpected", action="store_true",
                        help="ops: only cells not as expected (default: every cell that ran and did not pass)")
    parser.add_argument("--skips", action="store_true", help="ops: skipped cells too")
    parser.add_argument("--by", choices=("signature", "family"), default="signature",
                        help="ops: group by error signature, or by its family (the operator it names left out)")
    parser.add_argument("--top", type=int, default=20, help="ops: show the N largest groups (0: every one)")
    parser.add_argument("--json", type=Path, help="ops: write every group and the totals as JSON")
    parser.add_argument("--markdown", type=Path, help="ops: write the --top groups as a Markdown table")


def run(args: argparse.Namespace) -> int:
    from matrix.run.reference import reference_folder
    from matrix.views.optriage import op_cases
    out = (reference_folder("ops") if args.corpus == "ops" and args.out == DEFAULT_OUT else args.out).resolve()
    cases = op_cases(out) if args.corpus != "pitfalls" else {}
    if args.corpus == "ops" or (args.corpus == "auto" and _mostly_ops(out, cases)):
        return _ops(args, out, cases)
    from matrix.views.triage import print_triage, triage
    from matrix.wire import Verdict
    groups = triage(out, common.lineup_or_none(args.lineup))
    print_triage(groups)
    return 1 if any(g["verdict"] == Verdict.REGRESSION.value for g in groups) else 0


def _mostly_ops(out: Path, cases: dict) -> bool:
    from matrix.results.read import Results
    return bool(cases) and len(cases) * 2 > len(Results(out).catalogue())


def _ops(args: argparse.Namespace, out: Path, cases: dict) -> int:
    from matrix.views.optriage import group_failures, read_op_cells, summary
    from matrix.views.triage import op_triage_markdown, print_op_triage
    view, problems = read_op_cells(out, args.env, cases)
    for problem in problems[:20]:
        common.eprint(f"skipped: {problem}")
    if view.empty and args.env:  # a misspelt id is not "nothing fails"
        common.eprint(f"no op cells of {', '.join(args.env)} under {out}")
        return 2
    groups = group_failures(view, args.unexpected, args.skips, args.by, out=_shown(out))
    totals = summary(view, groups, max(args.top, 0))
    print_op_triage(groups, totals)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"totals": totals, "groups": groups}, indent=1, default=str) + "\n")
        print(f"json: {args.json}")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(op_triage_markdown(groups, totals))
        print(f"markdown: {args.markdown}")
    return 1 if any(g["regressions"] for g in groups) else 0


def _shown(out: Path) -> Path:
    """The out folder as the reproduction commands name it: relative to here where it is below here."""
    try:
        return out.relative_to(Path.cwd())
    except ValueError:
        return out
