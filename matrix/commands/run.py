"""``run``: the corpus in lineup environments (built or reused) or in any interpreter, then the report."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from matrix.adapters import EXPORTERS, RUNTIMES
from matrix.commands import common
from matrix.paths import CASES_DIR
from matrix.run.plan import SelectionError, parse_selection

NAME = "run"
HELP = "run the matrix in one environment, then render the report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--env", action="append", help="a lineup entry id: its environment is built (or reused) "
                       "and run; repeat it to run several (--jobs at once)")
    where.add_argument("--python", help="run the worker with this interpreter instead (default: this one)")
    parser.add_argument("--env-id", type=common.name("--env-id"),
                        help="the id rows get with --python (default: local-<interpreter name>)")
    parser.add_argument("--cases", help="regular expression on 'case' or 'case/variant'")
    parser.add_argument("--opsets", help="comma-separated opsets to request (default 9,11,18)")
    parser.add_argument("--exporters", help=f"comma-separated: {', '.join(EXPORTERS)}")
    parser.add_argument("--runtimes", help=f"comma-separated: {', '.join(RUNTIMES)}")
    common.add_timing(parser)
    common.add_out(parser, "output folder (default reports/)")
    parser.add_argument("--run-id", type=common.name("--run-id"), help="write into this run (CI shards of one run share it)")
    parser.add_argument("--cases-dir", type=Path, action="append", help="case folder (repeatable; default cases/)")
    parser.add_argument("--memory-limit-mb", type=int, default=None,
                        help="address-space limit of each worker, 0 for none (default: 3/4 of RAM, none with a GPU)")
    common.add_lineup(parser)
    parser.add_argument("--no-report", action="store_true", help="do not render the report afterwards")
    parser.add_argument("--jobs", type=common.count, default=None,
                        help="workers in all, across environments (default: what this machine's cores and memory allow)")
    parser.add_argument("--fresh", action="store_true",
                        help="run every cell again, even when an earlier run answered it with this environment and case")
    parser.add_argument("--verbose", action="store_true",
                        help="one line per cell instead of the live display (the default when not in a terminal)")
    parser.add_argument("--allow-regressions", action="store_true", help="exit 0 even when a cell regressed")
    common.add_gpu(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.run.console import make_console
    from matrix.run.lanes import Slots
    from matrix.run.parallel import Task, default_jobs, run_all
    from matrix.run.runner import EnvRunner
    from matrix.run.worker_process import default_memory_limit_mb
    selection = parse_selection(args.cases, args.opsets, args.exporters, args.runtimes)
    case_dirs = [p.resolve() for p in (args.cases_dir or [CASES_DIR])]
    for folder in case_dirs:
        if not folder.is_dir():
            raise SelectionError(f"--cases-dir {folder} is not a folder")
    memory = default_memory_limit_mb() if args.memory_limit_mb is None else args.memory_limit_mb
    out = args.out.resolve()
    envs = list(dict.fromkeys(args.env or []))
    if len(envs) > 1 and args.run_id is None and args.env_id:
        raise SelectionError("--env-id names the environment of --python; it cannot go with several --env")
    slots = Slots(args.jobs or default_jobs())
    console = make_console(args.verbose)

    def runner(env_id: str, python: str, fingerprint: str | None) -> EnvRunner:
        return EnvRunner(env_id, python, out, selection, case_dirs, timeout_s=args.timeout, run_id=args.run_id,
                         time_budget_s=args.time_budget, memory_limit_mb=memory, log=console.note,
                         on_cell=console.cell, fingerprint=fingerprint, fresh=args.fresh, slots=slots,
                         inherit_pythonpath=not envs)

    tasks = []
    if envs:
        from matrix.envs.build import ensure_env
        from matrix.envs.fingerprint import env_fingerprint
        for entry in common.lineup_entries(args, envs):

            def make(entry=entry) -> EnvRunner:
                python = ensure_env(entry, log=console.note)
                return runner(entry.id, str(python), env_fingerprint(entry))
            tasks.append(Task(entry.id, make))
    else:
        from matrix.envs.fingerprint import python_fingerprint
        python, env_id = common.interpreter(args.python or sys.executable, args.env_id)
        tasks.append(Task(env_id, lambda: runner(env_id, python, python_fingerprint(python))))
    with console:
        run_all(tasks, slots)
        outcomes = [task.result for task in tasks if task.result is not None]
        for outcome in outcomes:
            console.end(outcome)
    status = max([task_status(args, task) for task in tasks] + [outcome_status(args, o) for o in outcomes], default=0)
    if outcomes and not args.no_report:
        from matrix.commands import report
        report.run(common.namespace(report, out=args.out, lineup=args.lineup))
    return status


def task_status(args: argparse.Namespace, task) -> int:
    """What an environment that failed says, and its exit status: 2 bad input, 1 a broken environment."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins
    from matrix.envs.interpreters import InterpreterNotFound
    from matrix.envs.lineup import LineupError
    from matrix.results.store import ResultsError, StorageError
    from matrix.run.lanes import CorpusError, EnvironmentBroken
    error = task.error
    if error is None:
        return 0
    if isinstance(error, (InterpreterNotFound, UnresolvablePins)):
        common.eprint(f"error: {args.lineup}: {error}")
        return 2
    if isinstance(error, (SelectionError, LineupError, ResultsError, StorageError, CorpusError)):
        common.eprint(f"error: {error}")
        return 2
    if isinstance(error, (EnvBuildError, EnvironmentBroken)):
        common.eprint(str(error))
        return 1
    raise error  # Ctrl-C, SIGTERM, or a bug: not this command's to swallow


def outcome_status(args: argparse.Namespace, outcome) -> int:
    """One environment's summary line; 1 for a broken case or a regression (unless allowed)."""
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted(outcome.verdicts.items()))
    how = "up to date" if outcome.up_to_date else (f"{outcome.ran} run now, {outcome.reused} reused, "
                                                   f"{outcome.resumed} resumed, {outcome.skipped} not applicable")
    common.eprint(f"[{outcome.env_id}] run {outcome.run_id}: {outcome.planned} cells ({how}) in {outcome.wall_s:.1f} s: "
                  f"{statuses}; {verdicts}")
    if outcome.verdicts.get("flaky"):
        common.eprint(f"[{outcome.env_id}] {outcome.verdicts['flaky']} flaky cell(s): two runs disagreed "
                      f"(not counted as regressions)")
    status = 1 if outcome.broken_cases else 0
    if outcome.verdicts.get("regression") and not args.allow_regressions:
        common.eprint(f"[{outcome.env_id}] {outcome.verdicts['regression']} regression(s); --allow-regressions to exit 0")
        status = 1
    return status
