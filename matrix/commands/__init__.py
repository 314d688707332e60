"""``python -m matrix run|report|compare|list``: the harness without nox.

Exit codes: 0 done; 1 a regression (or a broken case, or a failed environment);
2 bad input (arguments, lineup, results), always with a message naming the value.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from matrix.envs.lineup import LineupError, by_id, find_entry, load_lineup
from matrix.paths import DEFAULT_OUT, LINEUP_FILE, REPO_ROOT
from matrix.results.store import ResultsError, StorageError, check_name
from matrix.run.plan import SelectionError, parse_selection


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:  # nan and inf are not durations
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number above 0")
    return int(text)


def _name(kind: str):
    def check(text: str) -> str:
        try:
            return check_name(kind, text)
        except ResultsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return check


class Terminated(BaseException):
    """SIGTERM (what CI runners and `timeout` send): stop like Ctrl-C, with exit status 143."""


def _stop(signum, frame) -> None:
    """The first SIGINT or SIGTERM stops the run; later ones are ignored while it cleans up (seconds),
    so a second Ctrl-C cannot leave the worker's children behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _lineup_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)),
                        help="the lineup file (default matrix/lineup.toml, or $MATRIX_LINEUP)")


def _gpu_arguments(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--gpu", dest="gpu", action="store_true", default=None,
                        help="install each entry's gpu_runtime (onnxruntime-gpu) instead of onnxruntime, as <id>-gpu "
                             "(the default where nvidia-smi sees a GPU)")
    choice.add_argument("--no-gpu", dest="gpu", action="store_false", help="the CPU onnxruntime even on a GPU machine")


def _lineup_entries(args: argparse.Namespace, ids: list[str] | None):
    """The lineup entries asked for (all without ids), as their GPU variants in GPU mode where they have one."""
    from matrix.views.gpu import gpu_mode
    entries = load_lineup(args.lineup)
    chosen = [find_entry(entries, env_id) for env_id in ids] if ids else entries
    if args.gpu is False:
        variants = [e.id for e in chosen if e.id.endswith("-gpu") and e.id not in {x.id for x in entries}]
        if variants:
            raise SelectionError(f"--no-gpu, but {', '.join(variants)} is a GPU variant: name its entry "
                                 f"({', '.join(v[:-4] for v in variants)}) instead")
    if gpu_mode(args.gpu):
        plain = [e.id for e in chosen if not e.gpu_runtime and not e.id.endswith("-gpu")]
        if plain and args.gpu:
            _eprint(f"note: {', '.join(plain)} name(s) no gpu_runtime: the CPU onnxruntime, CUDA columns skip")
        chosen = [e.for_gpu() if e.gpu_runtime else e for e in chosen]
    return chosen


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m matrix", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the matrix in one environment, then render the report")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--env", action="append", help="a lineup entry id: its environment is built (or reused) "
                       "and run; repeat it to run several (--jobs at once)")
    where.add_argument("--python", help="run the worker with this interpreter instead (default: this one)")
    run.add_argument("--env-id", type=_name("--env-id"), help="the id rows get with --python (default: local-<interpreter name>)")
    run.add_argument("--cases", help="regular expression on 'case' or 'case/variant'")
    run.add_argument("--opsets", help="comma-separated opsets to request (default 9,11,18)")
    run.add_argument("--exporters", help="comma-separated: torchscript, dynamo")
    run.add_argument("--runtimes", help="comma-separated: ort-cpu, ort-cuda, caffe2, reference")
    run.add_argument("--timeout", type=_positive, default=300.0, help="seconds per cell (a case may set its own)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default reports/)")
    run.add_argument("--run-id", type=_name("--run-id"), help="write into this run (CI shards of one run share it)")
    run.add_argument("--cases-dir", type=Path, action="append", help="case folder (repeatable; default cases/)")
    run.add_argument("--memory-limit-mb", type=int, default=None,
                     help="address-space limit of each worker, 0 for none (default: 3/4 of RAM, none with a GPU)")
    run.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)),
                     help="the lineup file (default matrix/lineup.toml)")
    run.add_argument("--time-budget", type=_positive, default=1.0, help="seconds of latency sampling per cell")
    run.add_argument("--no-report", action="store_true", help="do not render the report afterwards")
    run.add_argument("--jobs", type=_count, default=None,
                     help="environments to run at once (default: what this machine's cores and memory allow)")
    run.add_argument("--fresh", action="store_true",
                     help="run every cell again, even when an earlier run answered it with this environment and case")
    run.add_argument("--verbose", action="store_true",
                     help="one line per cell instead of the live display (the default when not in a terminal)")
    run.add_argument("--allow-regressions", action="store_true", help="exit 0 even when a cell regressed")
    _gpu_arguments(run)

    replay = sub.add_parser("replay", help="run every environment's exported files with one environment's runtimes")
    replay_where = replay.add_mutually_exclusive_group()
    replay_where.add_argument("--env", help="the runtime environment (default: the newest lineup entry built here)")
    replay_where.add_argument("--python", help="run the runtimes of this interpreter instead (torch, onnx and a runtime)")
    replay.add_argument("--env-id", type=_name("--env-id"), help="the id of --python's environment in the rows")
    replay.add_argument("--from", dest="source", type=Path,
                        help="replay the files of this out folder, e.g. results (default: --out itself)")
    replay.add_argument("--runtimes", default="ort-cpu,reference", help="comma-separated (default ort-cpu,reference)")
    replay.add_argument("--cases", help="regular expression on 'case' or 'case/variant' (default every exported file)")
    replay.add_argument("--timeout", type=_positive, default=300.0)
    replay.add_argument("--time-budget", type=_positive, default=1.0)
    replay.add_argument("--out", type=Path, default=DEFAULT_OUT)
    replay.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)))
    replay.add_argument("--no-report", action="store_true")

    report = sub.add_parser("report", help="render the HTML report from stored results")
    report.add_argument("--out", type=Path, default=DEFAULT_OUT)
    _lineup_argument(report)

    compare = sub.add_parser("compare", help="regressions between two runs or results folders (non-zero exit on one)")
    compare.add_argument("base", help="a run id, a run folder, or an out folder (results, reports)")
    compare.add_argument("new", help="a run id, a run folder, or an out folder (results, reports)")
    compare.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where run ids are looked up (default reports/)")
    compare.add_argument("--junit", type=Path, help="write JUnit XML: a testcase per cell of NEW")
    compare.add_argument("--markdown", type=Path, help="write a Markdown summary (for $GITHUB_STEP_SUMMARY)")

    triage = sub.add_parser("triage", help="cells that are not as expected, grouped, with the narrowest draft Expect")
    triage.add_argument("--out", type=Path, default=DEFAULT_OUT)
    _lineup_argument(triage)

    repro = sub.add_parser("repro", help="write a cell's self-contained reproduction into a folder")
    repro.add_argument("cell", help="a cell key (as in the report), or FILE:LINE of a row in a results file")
    repro.add_argument("--env", help="the environment whose row to reproduce, when several have the cell")
    repro.add_argument("--to", type=Path, help="folder to write repro.py and run.sh into (default repro-<case>)")
    repro.add_argument("--out", type=Path, default=DEFAULT_OUT)
    _lineup_argument(repro)

    envs = sub.add_parser("envs", help="build (or reuse) lineup environments and show their size")
    envs.add_argument("--env", action="append", help="entry id (repeatable; default all)")
    envs.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)))
    _gpu_arguments(envs)

    publishing = sub.add_parser("publish", help="make finished runs the reference results (results/), keeping history")
    publishing.add_argument("--from", dest="source", type=Path, default=DEFAULT_OUT, help="out folder (default reports/)")
    publishing.add_argument("--to", dest="target", type=Path, default=REPO_ROOT / "results",
                            help="results folder (default results/)")
    publishing.add_argument("--env", action="append", help="environment id (repeatable; default every finished one)")
    publishing.add_argument("--run", help="publish this run (default: each environment's newest finished run)")
    _lineup_argument(publishing)

    diffing = sub.add_parser("diff", help="cells that broke, got fixed or fail differently from one environment to another")
    diffing.add_argument("before", help="environment id, e.g. torch-2.13.0")
    diffing.add_argument("after", help="environment id, e.g. torch-2.15.0")
    diffing.add_argument("--out", type=Path, default=DEFAULT_OUT, help="out or results folder (default reports/)")

    from matrix.views.site.cli import add_arguments as site_arguments
    site_arguments(sub.add_parser("site", help="build the static site (site/) from published results (results/)"))

    merging = sub.add_parser("merge", help="gather shards' out folders (one run id) into one out folder")
    merging.add_argument("shards", nargs="+", type=Path, help="out folders of the shards")
    merging.add_argument("--out", type=Path, required=True)

    locking = sub.add_parser("lock", help="re-resolve entries' requires into pins and rewrite the lineup")
    locking.add_argument("--env", help="entry id (default all)")
    locking.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)))

    gpu = sub.add_parser("gpu", help="the corpus on onnxruntime's CUDA and CPU providers side by side, and every "
                                     "era's exported files from results/ replayed on both")
    gpu_where = gpu.add_mutually_exclusive_group()
    gpu_where.add_argument("--python", help="an interpreter with torch, onnx and onnxruntime-gpu (a GPU machine's own)")
    gpu_where.add_argument("--env", help="a lineup entry with a gpu_runtime, built as <id>-gpu (default: the newest)")
    gpu.add_argument("--env-id", type=_name("--env-id"), help="the id of --python's environment in the rows")
    gpu.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder the rows go to (default reports/)")
    gpu.add_argument("--from", dest="source", type=Path, default=REPO_ROOT / "results",
                     help="whose exported files to replay (default results/)")
    gpu.add_argument("--cases", help="regular expression on 'case' or 'case/variant'")
    gpu.add_argument("--timeout", type=_positive, default=300.0, help="seconds per cell")
    gpu.add_argument("--time-budget", type=_positive, default=1.0, help="seconds of latency sampling per cell")
    gpu.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)))
    listing = sub.add_parser("list", help="the lineup, and whether each entry's Python is here")
    listing.add_argument("--json", action="store_true", help="the entries as JSON (id, python, torch, tags, pins)")
    listing.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)))
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from matrix.run.console import make_console
    from matrix.run.parallel import Task, default_jobs, run_all
    from matrix.run.runner import EnvRunner, Slots, default_memory_limit_mb
    selection = parse_selection(args.cases, args.opsets, args.exporters, args.runtimes)
    case_dirs = [p.resolve() for p in (args.cases_dir or [REPO_ROOT / "cases"])]
    for folder in case_dirs:
        if not folder.is_dir():
            raise SelectionError(f"--cases-dir {folder} is not a folder")
    memory = default_memory_limit_mb() if args.memory_limit_mb is None else args.memory_limit_mb
    out = args.out.resolve()
    envs = list(dict.fromkeys(args.env or []))
    if len(envs) > 1 and args.run_id is None and args.env_id:
        raise SelectionError("--env-id names the environment of --python; it cannot go with several --env")
    jobs = args.jobs or default_jobs()
    slots = Slots(jobs)
    console = make_console(args.verbose)

    def runner(env_id: str, python: str, fingerprint: str | None) -> EnvRunner:
        return EnvRunner(env_id, python, out, selection, case_dirs, timeout_s=args.timeout, run_id=args.run_id,
                         time_budget_s=args.time_budget, memory_limit_mb=memory, log=console.note,
                         on_cell=console.cell, fingerprint=fingerprint, fresh=args.fresh, slots=slots,
                         inherit_pythonpath=not envs)

    tasks = []
    if envs:
        from matrix.envs.build import ensure_env, env_fingerprint
        for entry in _lineup_entries(args, envs):

            def make(entry=entry) -> EnvRunner:
                python = ensure_env(entry, log=console.note)
                return runner(entry.id, str(python), env_fingerprint(entry))
            tasks.append(Task(entry.id, make))
    else:
        from matrix.run.reuse import python_fingerprint
        python = os.path.abspath(args.python) if args.python else sys.executable  # the worker runs in another cwd
        if not os.access(python, os.X_OK) or os.path.isdir(python):
            raise SelectionError(f"--python {args.python}: not an executable interpreter")
        env_id = args.env_id or "local-" + Path(python).parent.parent.name
        check_name("--env-id", env_id)
        tasks.append(Task(env_id, lambda: runner(env_id, python, python_fingerprint(python))))
    with console:
        run_all(tasks, slots)
        outcomes = [task.result for task in tasks if task.result is not None]
        for outcome in outcomes:
            console.end(outcome)
    return _finish_run(args, tasks, outcomes)


def _finish_run(args: argparse.Namespace, tasks: list, outcomes: list) -> int:
    """Say how each environment went, render the report, and choose the exit status (worst wins)."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins
    from matrix.envs.interpreters import InterpreterNotFound
    from matrix.run.runner import CorpusError, EnvironmentBroken
    status = 0
    for task in tasks:
        error = task.error
        if error is None:
            continue
        if isinstance(error, (InterpreterNotFound, UnresolvablePins)):
            _eprint(f"error: {args.lineup}: {error}")
            status = max(status, 2)
        elif isinstance(error, (SelectionError, LineupError, ResultsError, StorageError, CorpusError)):
            _eprint(f"error: {error}")
            status = max(status, 2)
        elif isinstance(error, (EnvBuildError, EnvironmentBroken)):
            _eprint(str(error))
            status = max(status, 1)
        elif isinstance(error, (KeyboardInterrupt, SystemExit)) or not isinstance(error, Exception):
            raise error
        else:
            raise error
    for outcome in outcomes:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(outcome.verdicts.items()))
        how = "up to date" if outcome.up_to_date else (f"{outcome.ran} run now, {outcome.reused} reused, "
                                                       f"{outcome.resumed} resumed, {outcome.skipped} not applicable")
        _eprint(f"[{outcome.env_id}] run {outcome.run_id}: {outcome.planned} cells ({how}) in {outcome.wall_s:.1f} s: "
                f"{statuses}; {verdicts}")
        if outcome.verdicts.get("flaky"):
            _eprint(f"[{outcome.env_id}] {outcome.verdicts['flaky']} flaky cell(s): two runs disagreed "
                    f"(not counted as regressions)")
        if outcome.broken_cases:
            status = max(status, 1)
        if outcome.verdicts.get("regression") and not args.allow_regressions:
            _eprint(f"[{outcome.env_id}] {outcome.verdicts['regression']} regression(s); --allow-regressions to exit 0")
            status = max(status, 1)
    if outcomes and not args.no_report:
        cmd_report(argparse.Namespace(out=args.out, lineup=args.lineup))
    return status


def cmd_replay(args: argparse.Namespace) -> int:
    from matrix.envs.build import built_entries, ensure_env
    from matrix.run.runner import EnvRunner, default_memory_limit_mb
    selection = parse_selection(args.cases, None, None, args.runtimes)
    if args.python:
        python = os.path.abspath(args.python)
        if not os.access(python, os.X_OK) or os.path.isdir(python):
            raise SelectionError(f"--python {args.python}: not an executable interpreter")
        env_id = check_name("--env-id", args.env_id or "local-" + Path(python).parent.parent.name)
    else:
        entries = load_lineup(args.lineup)
        if args.env:
            entry = find_entry(entries, args.env)
        else:
            built = built_entries(entries)
            if not built:
                raise SelectionError("no lineup environment is built yet: run `nox -s matrix` first")
            entry = built[-1]
        python, env_id = str(ensure_env(entry, log=_eprint)), entry.id
    source = args.source.resolve() if args.source else None
    if source is not None and not (source / "runs").is_dir():
        raise SelectionError(f"--from {args.source}: no runs/ folder there (try results or reports)")
    runner = EnvRunner(env_id, python, args.out.resolve(), selection, [REPO_ROOT / "cases"], timeout_s=args.timeout,
                       time_budget_s=args.time_budget, memory_limit_mb=default_memory_limit_mb(),
                       inherit_pythonpath=bool(args.python))
    outcomes = runner.run_replay(source)
    for outcome in outcomes:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
        _eprint(f"[{outcome.env_id} files, {env_id} runtimes] {outcome.planned} cells in {outcome.wall_s:.1f} s: "
                f"{statuses}")
    if not outcomes:
        _eprint(f"replay: no other environment's exports under {source or args.out} to run with {env_id}")
    if not args.no_report:
        cmd_report(argparse.Namespace(out=args.out, lineup=args.lineup))
    return 0


def cmd_gpu(args: argparse.Namespace) -> int:
    """run + replay + report, each as its own command would do it, on ort-cuda and ort-cpu."""
    from matrix.views.gpu import gpu_summary
    if args.env_id and not args.python:
        raise SelectionError("--env-id names the environment of --python; a lineup entry's id is its own")
    if args.python:
        where = ["--python", args.python] + (["--env-id", args.env_id] if args.env_id else [])
    else:
        entries = load_lineup(args.lineup)
        with_gpu = [e for e in entries if e.gpu_runtime]
        if not with_gpu:
            raise SelectionError(f"{args.lineup}: no entry names a gpu_runtime; give --python")
        entry = find_entry(entries, args.env) if args.env else with_gpu[-1]
        if not entry.id.endswith("-gpu"):
            if not entry.gpu_runtime:
                raise SelectionError(f"lineup entry {entry.id} names no gpu_runtime")
            entry = entry.for_gpu()
        where = ["--env", entry.id]
    source = args.source.resolve()
    if not (source / "runs").is_dir():
        raise SelectionError(f"--from {args.source}: no runs/ folder there (try results or reports)")
    common = ["--out", str(args.out), "--lineup", str(args.lineup), "--timeout", str(args.timeout),
              "--time-budget", str(args.time_budget), "--runtimes", "ort-cuda,ort-cpu", "--no-report",
              *(["--cases", args.cases] if args.cases else [])]
    run = build_parser().parse_args(["run", *where, *common, *(["--gpu"] if not args.python else [])])
    status = cmd_run(run)
    if status >= 2:  # bad input (a --cases that matches nothing, ...): said already; replaying would hide it
        return status
    replay_where = where if args.python else ["--env", where[1]]
    status = max(status, cmd_replay(build_parser().parse_args(["replay", *replay_where, "--from", str(source),
                                                               *common])))
    cmd_report(argparse.Namespace(out=args.out, lineup=args.lineup))
    for line in gpu_summary(args.out.resolve()):
        _eprint(line)
    return status


def cmd_report(args: argparse.Namespace) -> int:
    from matrix.views.report import render_report
    index, problems = render_report(args.out.resolve(), lineup=load_lineup_or_none(args.lineup))
    for problem in problems:
        _eprint(f"report: {problem}")
    _eprint(f"report: {index}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from matrix.views.compare import (
        compare_runs,
        print_comparison,
        write_junit,
        write_markdown,
    )
    result = compare_runs(args.out.resolve(), args.base, args.new)
    print_comparison(result)
    if args.junit:
        print(f"junit: {write_junit(result, args.junit)}")
    if args.markdown:
        print(f"markdown: {write_markdown(result, args.markdown)}")
    return 1 if len(result.regressions) else 0


def cmd_list(args: argparse.Namespace) -> int:
    from matrix.envs.interpreters import InterpreterNotFound, find_python
    if args.json:
        import json
        print(json.dumps([{"id": e.id, "python": e.python, "torch": e.torch, "tags": list(e.tags), "pins": list(e.pins),
                           "session": f"matrix({e.id})", "gpu_runtime": e.gpu_runtime or None}
                          for e in load_lineup(args.lineup)]))
        return 0
    for entry in load_lineup(args.lineup):
        try:
            where = find_python(entry.python)
        except InterpreterNotFound as exc:
            where = f"MISSING: {exc}"
        tags = ",".join(entry.tags)
        gpu = f" (--gpu: {entry.gpu_runtime})" if entry.gpu_runtime else ""
        print(f"{entry.id:<16} python {entry.python:<5} torch {entry.torch:<8} [{tags}] {where}{gpu}")
    return 0


def cmd_envs(args: argparse.Namespace) -> int:
    import time

    from matrix.envs.build import ensure_env
    chosen = _lineup_entries(args, args.env)
    failed = 0
    for entry in chosen:
        started = time.monotonic()
        try:
            python = ensure_env(entry, log=_eprint)
        except Exception as exc:  # report every entry, then fail
            _eprint(f"[{entry.id}] FAILED: {exc}")
            failed += 1
            continue
        size = sum(p.stat().st_size for p in python.parent.parent.rglob("*") if p.is_file() and not p.is_symlink())
        print(f"{entry.id:<14} {time.monotonic() - started:7.1f} s  {size / 2**30:5.2f} GiB  {python}", flush=True)
    return 1 if failed else 0


def load_lineup_or_none(path: Path):
    """The lineup the views order environments by; a view still renders without one (named on stderr)."""
    try:
        return load_lineup(path)
    except LineupError as exc:
        _eprint(f"warning: {exc}; environments are shown in name order")
        return []


def cmd_triage(args: argparse.Namespace) -> int:
    from matrix.views.triage import print_triage, triage
    groups = triage(args.out.resolve(), load_lineup_or_none(args.lineup))
    print_triage(groups)
    return 1 if any(g["verdict"] == "regression" for g in groups) else 0


def cmd_repro(args: argparse.Namespace) -> int:
    from matrix.results.read import Results
    from matrix.results.store import read_json
    from matrix.views.repro import ReproError, build_script, row_from_file, write_folder
    entries = by_id(load_lineup_or_none(args.lineup))
    results = Results(args.out.resolve())
    if ":" in args.cell and Path(args.cell.rpartition(":")[0]).is_file():
        row = row_from_file(args.cell)
        run = results.run(str(Path(args.cell.rpartition(":")[0]).resolve().parent))
    else:
        view = results.rows()
        view = view[(view["cell"] == args.cell) & (view["env_id"] == args.env if args.env else True)]
        if view.empty:
            raise ReproError(f"no row of cell {args.cell!r}{' in ' + args.env if args.env else ''} under {args.out}")
        envs = sorted(set(view["env_id"]))
        if len(envs) > 1:
            raise ReproError(f"cell {args.cell!r} has rows in {', '.join(envs)}: say which with --env")
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in view.iloc[-1].to_dict().items()}
        run = results.run(row["run_id"])
    catalogue = read_json(run.catalogue_file(row["env_id"])) or {}
    case = next((c for c in catalogue.get("cases", []) if isinstance(c, dict) and c.get("id") == row["case"]), None)
    script, commands = build_script(row, case or results.catalogue().get(row["case"]), entries.get(row["env_id"]),
                                    entries.get(row.get("runtime_env") or row["env_id"]))
    folder = write_folder(args.to or Path(f"repro-{row['case']}"), script, commands)
    print(f"{folder}/repro.py: {row['status']} of {row['cell']} in {row['env_id']}")
    print(f"run it: sh {folder}/run.sh   (or: python {folder}/repro.py in an environment with the pins)")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from matrix.results.publish import (
        environments,
        publish,
        publish_replays,
        references,
    )
    source, target = args.source.resolve(), args.target.resolve()
    envs = args.env or environments(source)
    if not envs:
        raise ResultsError(f"nothing to publish: no finished run under {source / 'runs'}")
    entries = by_id(load_lineup_or_none(args.lineup))
    for item in publish(source, target, envs, entries, args.run):
        print(f"{item.env_id:<14} run {item.run_id}: {item.rows} rows, {item.replay_rows} replay rows, "
              f"{item.exports} exported files, {item.bytes / 2 ** 20:.2f} MiB")
    for env_id in envs:  # what its runtimes gave on the reference's own files (replay --from results)
        added = publish_replays(source, target, env_id)
        if added:
            print(f"{env_id:<14} {added} replay rows on files of earlier published runs")
    from matrix.results.readme import write_readme
    write_readme(target, references(target))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from matrix.results.read import Results
    from matrix.views.diff import print_diff, release_diff
    from matrix.views.frames import current_view
    results = Results(args.out.resolve())
    view = current_view(results.rows())
    known = sorted(set(view["env_id"])) if not view.empty else []
    for env_id in (args.before, args.after):
        if env_id not in known:
            raise ResultsError(f"no rows of {env_id!r} under {args.out}; environments there: {', '.join(known) or 'none'}")
    print_diff(release_diff(view, args.before, args.after), args.before, args.after)
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from matrix.views.site.cli import run
    return run(args)


def cmd_merge(args: argparse.Namespace) -> int:
    from matrix.results.publish import merge
    runs = merge([p.resolve() for p in args.shards], args.out.resolve())
    print(f"merged {len(args.shards)} shard(s) into {args.out}: run(s) {', '.join(runs)}")
    return 0


def cmd_lock(args: argparse.Namespace) -> int:
    from matrix.envs.lock import lock
    for entry in lock(load_lineup(args.lineup), args.env, args.lineup):
        print(f"{entry.id:<14} {len(entry.pins)} pins")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"run": cmd_run, "replay": cmd_replay, "report": cmd_report, "compare": cmd_compare, "list": cmd_list,
               "envs": cmd_envs, "triage": cmd_triage, "repro": cmd_repro, "lock": cmd_lock, "publish": cmd_publish,
               "merge": cmd_merge, "diff": cmd_diff, "site": cmd_site, "gpu": cmd_gpu}[args.command]
    from matrix.views.repro import ReproError
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        return handler(args)
    except (SelectionError, LineupError, ResultsError, ReproError, StorageError) as exc:
        _eprint(f"error: {exc}")
        return 2
    except BrokenPipeError:  # `... | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        _eprint("interrupted: rows written so far are kept; the same command resumes")
        return 130
    except Terminated:
        _eprint("terminated: rows written so far are kept; the same command resumes")
        return 128 + signal.SIGTERM
    finally:
        if signal.getsignal(signal.SIGINT) is _stop:  # not stopped: give the caller its handlers back
            for number, handler in previous.items():
                signal.signal(number, handler)
