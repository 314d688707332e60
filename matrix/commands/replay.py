"""``replay``: every environment's exported files run with one environment's runtimes."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.envs.lineup import find_entry, load_lineup
from matrix.paths import CASES_DIR
from matrix.run.plan import SelectionError, parse_selection

NAME = "replay"
HELP = "run every environment's exported files with one environment's runtimes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", help="the runtime environment (default: the newest lineup entry built here)")
    where.add_argument("--python", help="run the runtimes of this interpreter instead (torch, onnx and a runtime)")
    parser.add_argument("--env-id", type=common.name("--env-id"), help="the id of --python's environment in the rows")
    parser.add_argument("--from", dest="source", type=Path,
                        help="replay the files of this out folder, e.g. results (default: --out itself)")
    parser.add_argument("--runtimes", default="ort-cpu,reference,ov-cpu",
                        help="comma-separated (default ort-cpu,reference,ov-cpu)")
    parser.add_argument("--cases", help="regular expression on 'case' or 'case/variant' (default every exported file)")
    common.add_timing(parser)
    common.add_out(parser)
    common.add_lineup(parser)
    parser.add_argument("--no-report", action="store_true")


def source_folder(path: Path | None) -> Path | None:
    """A --from folder, refused before anything runs when it holds no runs."""
    source = path.resolve() if path else None
    if source is not None and not (source / "runs").is_dir():
        raise SelectionError(f"--from {path}: no runs/ folder there (try results or reports)")
    return source


def run(args: argparse.Namespace) -> int:
    from matrix.envs.build import built_entries, ensure_env
    from matrix.run.replay import run_replay
    from matrix.run.runner import EnvRunner
    from matrix.run.worker_process import default_memory_limit_mb
    selection = parse_selection(args.cases, None, None, args.runtimes)
    if args.python:
        python, env_id = common.interpreter(args.python, args.env_id)
    else:
        entries = load_lineup(args.lineup)
        if args.env:
            entry = find_entry(entries, args.env)
        else:
            built = built_entries(entries)
            if not built:
                raise SelectionError("no lineup environment is built yet: run `nox -s matrix` first")
            entry = built[-1]
        python, env_id = str(ensure_env(entry, log=common.eprint)), entry.id
    source = source_folder(args.source)
    runner = EnvRunner(env_id, python, args.out.resolve(), selection, [CASES_DIR], timeout_s=args.timeout,
                       time_budget_s=args.time_budget, memory_limit_mb=default_memory_limit_mb(),
                       inherit_pythonpath=bool(args.python))
    outcomes = run_replay(runner, source)
    for outcome in outcomes:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
        common.eprint(f"[{outcome.env_id} files, {env_id} runtimes] {outcome.planned} cells in {outcome.wall_s:.1f} s: "
                      f"{statuses}")
    if not outcomes:
        common.eprint(f"replay: no other environment's exports under {source or args.out} to run with {env_id}")
    if not args.no_report:
        from matrix.commands import report
        report.run(common.namespace(report, out=args.out, lineup=args.lineup))
    return 0
