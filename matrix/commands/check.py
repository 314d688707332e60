"""``check PATH``: a user's model through the lineup with the ordinary runner, the answer first, then an HTML page."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matrix.adapters import EXPORTERS, RUNTIMES
from matrix.commands import common
from matrix.paths import DEFAULT_OUT
from matrix.run import usercase as user
from matrix.run.plan import SelectionError

NAME = "check"
HELP = "your model (a file with build(), or PATH:factory --inputs) through the lineup: where it works, what to pin"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="PATH[:factory]", help="a .py file defining build() -> (module, inputs), "
                        "or PATH:factory with --inputs (the factory returns the module)")
    parser.add_argument("--inputs", help="with PATH:factory: one shape per input, SHAPE[:DTYPE] (2x3x224x224,1x16:int64;"
                        f" {', '.join(user.DTYPES)}; float32 unless given; random, seeded)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", action="append", help="a lineup entry id, repeatable (default: the quick entries "
                       "and the newest)")
    where.add_argument("--python", help="run in this interpreter instead (one with torch, onnx and onnxruntime)")
    parser.add_argument("--env-id", type=common.name("--env-id"), help="the id rows get with --python")
    parser.add_argument("--exporters", help=f"comma-separated: {', '.join(EXPORTERS)} (default both)")
    parser.add_argument("--opsets", default="all", help="opsets to request, ranges (9-13) or all (the default)")
    parser.add_argument("--runtimes", help=f"comma-separated: {', '.join(RUNTIMES)} (default every one; those an "
                        "environment lacks are skipped columns)")
    parser.add_argument("--require", help="exit 0 when a passing combination satisfies every token, 1 when none "
                        "does: 'torch>=2.6 opset=17 runtime=onnxruntime' (keys exporter, runtime, opset, torch, "
                        "python, onnx, onnxruntime, openvino)")
    parser.add_argument("--out", type=Path, help="output folder (default reports/check/<file stem>)")
    common.add_timing(parser)
    parser.set_defaults(time_budget=0.05)  # latency is not the question here; the answer is
    common.add_lineup(parser)
    parser.add_argument("--jobs", type=common.count, default=None, help="workers in all (default: what this "
                        "machine's cores and memory allow)")
    parser.add_argument("--fresh", action="store_true", help="run every cell again")
    parser.add_argument("--verbose", action="store_true", help="one line per cell instead of the live display")


def _environments(args: argparse.Namespace) -> tuple[list[str] | None, list]:
    """(the --env ids for the runner, the entries the answer reads in lineup order, as the runner names them: a
    GPU variant on a GPU machine), checked before anything is written; a --python interpreter is its env id."""
    from matrix.envs.lineup import find_entry, load_lineup
    if args.python:
        return None, [common.interpreter(args.python, args.env_id)[1]]
    if args.env_id:
        raise SelectionError("--env-id names the environment of --python")
    lineup = load_lineup(args.lineup)
    wanted = args.env or [e.id for e in lineup if "quick" in e.tags] + [lineup[-1].id]
    ids = list(dict.fromkeys(find_entry(lineup, env_id).id for env_id in wanted))
    rank = {e.id: i for i, e in enumerate(lineup)}
    entries = common.lineup_entries(argparse.Namespace(lineup=args.lineup, gpu=None), sorted(ids, key=rank.get))
    return ids, entries


def run(args: argparse.Namespace) -> int:
    from matrix.commands import run as run_command
    from matrix.run.plan import parse_selection
    from matrix.views import check as view
    path, factory = user.split_target(args.target)
    path = user.check_target(path, factory)
    inputs = user.parse_inputs(args.inputs, factory)
    requirements = view.parse_require(args.require)
    selection = parse_selection(None, args.opsets, args.exporters, args.runtimes)  # bad values named before writing
    env_ids, entries = _environments(args)
    order = [e if isinstance(e, str) else e.id for e in entries]
    out = (args.out or DEFAULT_OUT / "check" / user.case_id(path)).resolve()
    created, runs_before = not out.exists(), {p.name for p in (out / "runs").glob("*")}
    cases = out / user.PACKAGE
    shim, before = user.write_case(cases, path, factory, inputs)
    fast = bool(env_ids) and not args.fresh and user.answered(entries, out, cases, selection.to_dict())
    if fast:
        common.eprint(f"up to date: {', '.join(order)} answered this file as it is (--fresh to run it again)")
    status = 0 if fast else run_command.run(common.namespace(
        run_command, env=env_ids, python=args.python, env_id=args.env_id, cases_dir=[cases], out=out,
        opsets=args.opsets, exporters=args.exporters, runtimes=args.runtimes, no_report=True, allow_regressions=True,
        lineup=args.lineup, timeout=args.timeout, time_budget=args.time_budget, jobs=args.jobs, fresh=args.fresh,
        verbose=args.verbose))
    found = view.check_cells(out, user.case_id(path), order, [cases])
    target = args.target
    if found.empty or (found["stage"] == "build").all():
        if found.empty and status:  # the environment said why (its build failed, its interpreter is missing)
            if status == 2:
                user.discard(out, created, runs_before, shim, before)
            return status
        reason = str(found["error"].iloc[0] or "").strip().split("\n")[0] if len(found) else None
        common.eprint(f"error: {target}: {factory or 'build'}() failed in every environment: {reason}" if reason else
                      f"error: {target}: no cell can run in {', '.join(order)} (every column is not applicable)")
        user.discard(out, created, runs_before, shim, before)
        return 2
    result = view.answer(found, requirements, order)
    for line in view.answer_lines(result, target, order):
        print(line)
    page = view.write_check_page(out / "check.html", result, view.page_context(found, path, target, order, out))
    print(f"page: {page}")
    sys.stdout.flush()
    if result["require"] is not None:
        return 0 if result["require"]["holds"] else 1
    return 0 if result["passed"] else 1
