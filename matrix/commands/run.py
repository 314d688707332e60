"""``run``: the corpus in lineup environments (built or reused) or in any interpreter, then the report."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matrix.adapters import EXPORTERS, RUNTIMES
from matrix.commands import common
from matrix.run.console import outcome_status
from matrix.run.plan import SelectionError, case_folders, compile_cases, environments, parse_selection

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
    parser.add_argument("--opsets", help="comma-separated opsets to request, ranges (9-13) or all (default 9,11,18)")
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
    parser.add_argument("--rerun", metavar="REGEX",
                        help="run these cases' cells again (a regular expression on 'case' or 'case/variant') and reuse "
                        "the rest: after a harness fix that changes how those cases run, not what they are")
    parser.add_argument("--keep-envs", type=_at_least_0, metavar="N", help="bounded disk: the --env entries in turn, keeping "
                        "at most N of the environments this run built (never quick ones or ones already there)")
    parser.add_argument("--own-uv-cache", action="store_true", help="with --keep-envs: each environment downloads into "
                        "a uv cache of its own, removed after its run (the disk taken is one environment's; nothing cached)")
    parser.add_argument("--verbose", action="store_true",
                        help="one line per cell instead of the live display (the default when not in a terminal)")
    parser.add_argument("--allow-regressions", action="store_true", help="exit 0 even when a cell regressed")
    common.add_gpu(parser)


def _at_least_0(text: str) -> int:
    return 0 if text == "0" else common.count(text)


def run(args: argparse.Namespace) -> int:
    from matrix.run.console import make_console
    from matrix.run.lanes import Slots
    from matrix.run.parallel import Task, default_jobs, run_all
    from matrix.run.runner import EnvRunner
    from matrix.run.worker_process import default_memory_limit_mb
    selection = parse_selection(args.cases, args.opsets, args.exporters, args.runtimes)
    rerun = compile_cases("--rerun", args.rerun) if args.rerun is not None else None
    case_dirs = case_folders(args.cases_dir)
    memory = default_memory_limit_mb() if args.memory_limit_mb is None else args.memory_limit_mb
    out = args.out.resolve()
    envs = environments(args)
    slots = Slots(args.jobs or default_jobs())
    console = make_console(args.verbose)

    def runner(env_id: str, python: str, fingerprint: str | None) -> EnvRunner:
        return EnvRunner(env_id, python, out, selection, case_dirs, timeout_s=args.timeout, run_id=args.run_id,
                         time_budget_s=args.time_budget, memory_limit_mb=memory, log=console.note,
                         on_cell=console.cell, fingerprint=fingerprint, fresh=args.fresh, rerun=rerun, slots=slots,
                         inherit_pythonpath=not envs)

    from matrix.envs import models
    if models.needs_models(case_dirs):  # no model case reaches the hub, in a lineup environment or any interpreter
        os.environ.update(models.OFFLINE)
    tasks = []
    if envs:
        from matrix.envs.build import ensure_env
        from matrix.envs.fingerprint import env_fingerprint
        for entry in common.lineup_entries(args, envs):

            def make(entry=entry) -> EnvRunner:
                python = ensure_env(entry, log=console.note)
                site, more = models.worker_settings(entry, case_dirs, log=console.note)
                made = runner(entry.id, str(python), (env_fingerprint(entry) or "") + more or None)
                made.pythonpath = site or made.pythonpath  # the model packages: only for the cases that need them
                return made
            tasks.append(Task(entry.id, make))
    else:
        from matrix.envs.fingerprint import python_fingerprint
        python, env_id = common.interpreter(args.python or sys.executable, args.env_id)
        tasks.append(Task(env_id, lambda: runner(env_id, python, python_fingerprint(python))))
    with console:
        if args.keep_envs is None or not envs:
            run_all(tasks, slots)
        else:
            from matrix.envs.keep import run_in_turn
            run_in_turn(tasks, slots, args.keep_envs, common.lineup_entries(args, None), run_all, console.note,
                        own_cache=args.own_uv_cache)
        outcomes = [task.result for task in tasks if task.result is not None]
        for outcome in outcomes:
            console.end(outcome)
    status = max([common.failure_status(task.error, args.lineup) for task in tasks]
                 + [outcome_status(o, args.allow_regressions) for o in outcomes], default=0)
    if outcomes and not args.no_report:
        from matrix.commands import report
        report.run(common.namespace(report, out=args.out, lineup=args.lineup))
    return status
