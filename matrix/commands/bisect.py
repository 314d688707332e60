"""``bisect CELL --good ENV --bad ENV`` (or ``--torch A..B``; ``--onnxruntime A..B``: run/runtime_bisect.py): the
release a cell changed in, found by building the releases between the two on demand, as ``git bisect run``."""
from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from matrix.commands import common
from matrix.paths import DEFAULT_OUT, REPO_ROOT, RESULTS_DIR
from matrix.run import runtime_bisect

NAME = "bisect"
HELP = "find the torch (or, with --onnxruntime, the onnxruntime) release where a cell changed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", help="a cell key (as in the report)")
    parser.add_argument("--good", help="the lineup entry whose outcome counts as good")
    parser.add_argument("--bad", help="the lineup entry whose outcome counts as bad (older than --good: a fix)")
    parser.add_argument("--torch", help="A..B: the lineup entries with torch A (good) and B (bad)")
    parser.add_argument("--from", dest="sources", type=Path, action="append",
                        help="out folders with the ends' rows (default reports, then results)")
    parser.add_argument("--index-file", type=Path, help="torch's (with --onnxruntime: onnxruntime's) releases in "
                        "PyPI's JSON form instead of PyPI (or $MATRIX_TORCH_INDEX, $MATRIX_ORT_INDEX)")
    parser.add_argument("--pre", action="store_true", help="pre-releases too")
    parser.add_argument("--keep", action="store_true", help="keep the environments it built")
    parser.add_argument("--envs-dir", type=Path, default=REPO_ROOT / ".envs-bisect", help="where it builds")
    parser.add_argument("--requires-from", choices=("older", "newer"), default="older",
                        help="whose other requires each release is built with first (the other's if they cannot "
                             "resolve): the dynamo exporter needs an onnxscript of its era")
    parser.add_argument("--out", type=Path, help="the state folder (default reports/bisect/<cell>/)")
    parser.add_argument("--timeout", type=common.positive, default=300.0, help="seconds for the cell")
    runtime_bisect.add_arguments(parser)
    common.add_lineup(parser)


def _ends(args: argparse.Namespace, lineup: list, releases: list[str]):
    from matrix.envs.lineup import find_entry
    from matrix.run.bisect import BisectError
    from matrix.run.bisect_ends import end_entry
    if args.torch:
        if args.good or args.bad or args.torch.count("..") != 1:
            raise BisectError(f"--torch {args.torch!r}: say A..B (two releases), without --good/--bad")
        wanted = [part.strip() for part in args.torch.split("..")]
        found = []
        for release in wanted:
            if release not in releases:
                raise BisectError(f"--torch {release}: no such release on the index")
            found.append(end_entry(release, lineup, args.requires_from == "newer"))  # built where no entry has it
        return found
    if not (args.good and args.bad):
        raise BisectError("say --good ENV and --bad ENV (lineup ids), or --torch A..B")
    return [find_entry(lineup, args.good), find_entry(lineup, args.bad)]


def _setup(args: argparse.Namespace):
    """(the state, the ordered releases, the requires to build with): every check made before anything is written."""
    from packaging.version import Version

    from matrix.envs.build import built_entries
    from matrix.envs.lineup import load_lineup
    from matrix.results.safe import inside, slug
    from matrix.run import bisect
    from matrix.run.bisect_ends import end_rows
    from matrix.run.reduce import ReduceError
    lineup = load_lineup(args.lineup)
    releases = bisect.index_releases(args.index_file, args.pre)
    good, bad = _ends(args, lineup, releases)
    for entry in (good, bad):
        if entry.torch.split("+")[0] not in releases:
            raise bisect.BisectError(f"torch {entry.torch} ({entry.id}): no such release on the index")
    inner = bisect.between(releases, good.torch.split("+")[0], bad.torch.split("+")[0])
    if not inner:
        raise bisect.BisectError(f"no torch release between {good.torch} ({good.id}) and {bad.torch} ({bad.id}) "
                                 "on the index: the lineup entries are neighbours already")
    sources = args.sources or [DEFAULT_OUT, RESULTS_DIR]
    folder = args.out or inside(DEFAULT_OUT, "bisect", slug(args.cell))
    try:  # a lineup end's published row; an end outside the lineup is built and run first
        rows, end_bytes = end_rows(args.cell, [("good", good), ("bad", bad)], sources, folder, args.envs_dir,
                                   args.keep, args.timeout, common.eprint)
    except ReduceError as exc:
        raise bisect.BisectError(str(exc)) from None
    if bisect.judge(rows["bad"], rows["good"], rows["good"]) == "good":
        raise bisect.BisectError(f"cell {args.cell} is {rows['good'].get('status')} with the same signature in "
                                 f"{good.id} and {bad.id}: nothing to bisect")
    ends = {end: {**bisect.short_row(rows[end]), "release": entry.torch.split("+")[0]}
            for end, entry in (("good", good), ("bad", bad))}
    bases = sorted((good, bad), key=lambda e: Version(e.torch.split("+")[0]), reverse=args.requires_from == "newer")
    state = bisect.Bisect(folder, args.cell, ends, bisect.cell_arguments(rows["good"]), [e.id for e in bases])
    state.peak_bytes = end_bytes
    return state, [ends["good"]["release"], *inner, ends["bad"]["release"]], bases, built_entries(lineup)


def run(args: argparse.Namespace) -> int:
    from matrix.run import bisect
    from matrix.views.bisect import answer_lines
    started = time.monotonic()
    try:
        if args.onnxruntime:  # the exported file held fixed, onnxruntime releases built around it
            return print("\n".join(runtime_bisect.run(args, common.eprint))) or 0
        state, releases, bases, built = _setup(args)
    except bisect.BisectError as exc:
        return common.eprint(f"error: {exc}") or 2
    fresh_envs = not args.envs_dir.exists()
    common.eprint(f"bisect {state.cell}: {len(releases) - 2} release(s) between {releases[0]} and {releases[-1]}: "
                  f"{', '.join(releases[1:-1])}")
    try:
        ask = lambda r: bisect.probe(r, bases, state, args.envs_dir, args.keep, args.timeout, common.eprint, built)
        found = bisect.search(releases, ask)
        then = bisect.follow_other(state, found, releases, ask)
        ends = {r for p in (found, then) if p for r in (p.good, p.bad)}
        bisect.verify_ends(state, ends, built, args.timeout, common.eprint)
    finally:
        if fresh_envs and not args.keep:
            shutil.rmtree(args.envs_dir, ignore_errors=True)
    print("\n".join([*answer_lines(state.finish(found, time.monotonic() - started, then)), f"state: {state.path}"]))
    return 0
