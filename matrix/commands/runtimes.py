"""``runtimes``: the runtime axis. A lineup entry's pins with every onnxruntime minor release that installs beside
them, each built on demand, replaying exported files on ort-cpu; then the overview (files x onnxruntime releases)
and the diffs between neighbouring releases."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.paths import DEFAULT_OUT, RESULTS_DIR

NAME = "runtimes"
HELP = "run exported files on every onnxruntime minor release that installs beside a lineup entry's pins"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from matrix.run.runtimes import ENVS_RUNTIMES
    parser.add_argument("--env", action="append", help="the lineup entry whose pins each release is built beside "
                        "(repeatable; default the newest entry)")
    parser.add_argument("--onnxruntime", help="A..B: only the releases from A to B (1.17..1.20, 1.20.., ..1.19.2)")
    parser.add_argument("--files", type=common.id_list, help="ENV,...: whose exported files to run (default every "
                        "era's in --from)")
    parser.add_argument("--from", dest="source", type=Path, default=RESULTS_DIR,
                        help="the out folder whose exported files run (default results/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT / "runtimes", help="where rows go (default reports/runtimes/)")
    parser.add_argument("--cases", help="regular expression on 'case' or 'case/variant'")
    parser.add_argument("--index-file", type=Path, help="onnxruntime's releases in PyPI's JSON form instead of PyPI "
                        "(or $MATRIX_ORT_INDEX)")
    parser.add_argument("--pre", action="store_true", help="pre-releases too")
    parser.add_argument("--list", action="store_true", help="only list the releases and why each can or cannot run")
    parser.add_argument("--keep", action="store_true", help="keep the environments built (default: each goes after its rows)")
    parser.add_argument("--envs-dir", type=Path, default=ENVS_RUNTIMES, help="where they are built (default .envs-runtimes/)")
    parser.add_argument("--publish", action="store_true", help="then copy the rows and the record into results/runtimes/")
    parser.add_argument("--timeout", type=common.positive, default=300.0, help="seconds per cell")
    common.add_lineup(parser)


def _entries(args: argparse.Namespace):
    from matrix.envs.lineup import find_entry, load_lineup
    lineup = load_lineup(args.lineup)
    return [find_entry(lineup, env_id) for env_id in args.env] if args.env else [lineup[-1]]


def run(args: argparse.Namespace) -> int:
    from matrix.commands.replay import source_folder
    from matrix.envs.lock import resolve
    from matrix.run import ortindex
    from matrix.run.plan import parse_selection
    from matrix.run.runtimes import AxisRun, RuntimeAxisError, run_axis, runnable
    from matrix.views.runtimes import axis_lines, publish_axis
    data = ortindex.read_index(args.index_file)
    plans = [(entry, ortindex.axis(data, entry.python, args.onnxruntime, args.pre)) for entry in _entries(args)]
    for entry, releases in plans:
        common.eprint(f"{entry.id} (Python {entry.python}, onnxruntime {entry.pin('onnxruntime')}): "
                      + ", ".join(r + (" (no wheel)" if why else "") for r, why in releases))
    if args.list:
        for entry, releases in plans:
            for release, why in releases:
                print(f"{entry.id}  onnxruntime {release:<8} {why or 'has a wheel for Python ' + entry.python}")
        return 0
    for entry, releases in plans:
        if not runnable(releases):
            raise RuntimeAxisError(f"--env {entry.id}: no onnxruntime release in the window has a wheel for Python "
                                   f"{entry.python}")
    axis = AxisRun(out=args.out.resolve(), source=source_folder(args.source), files=set(args.files) if args.files else None,
                   selection=parse_selection(args.cases, None, None, "ort-cpu"), envs_dir=args.envs_dir.resolve(),
                   keep=args.keep, timeout=args.timeout, log=common.eprint)
    status = 0
    for entry, releases in plans:
        record = run_axis(entry, releases, axis, resolve)
        ran = any(r["outcome"] == "ran" for r in record["releases"].values())
        if not ran:
            common.eprint(f"error: --env {entry.id}: no onnxruntime release installs beside its pins")
            status = 2
        print("\n".join(axis_lines(axis.out, record)))
        if args.publish and ran:  # nothing ran: what is published stays
            print(publish_axis(axis.out, RESULTS_DIR / "runtimes", record))
    return status
