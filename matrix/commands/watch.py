"""``watch [--dry-run] [--pre]``: newer torch, onnxruntime, onnx and onnxscript releases than the lineup's newest entry
pins, each a new lineup entry (resolved as ``lock`` does), run (the pitfall corpus) and diffed against the entry before
it into ``<out>/watch/<entry>.md``. The rules are matrix/run/watch.py's."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from matrix.commands import common
from matrix.paths import RESULTS_DIR

NAME = "watch"
HELP = "newer torch/onnxruntime/onnx/onnxscript releases than the lineup's: a new entry each, run and diffed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list the newer releases and what watch would do, only")
    parser.add_argument("--pre", action="store_true", help="pre-releases too")
    parser.add_argument("--index", default=os.environ.get("MATRIX_INDEX_URL"),
                        help="the index to list releases from: a base address answering <base>/<name>/json as PyPI "
                        "does, or a folder of <name>/json files (default PyPI, or $MATRIX_INDEX_URL); pins are "
                        "still resolved by uv against its own index")
    parser.add_argument("--index-timeout", type=common.positive, default=30.0, help="seconds the index may take")
    parser.add_argument("--cases", help="regular expression on 'case' or 'case/variant' (default the whole corpus)")
    parser.add_argument("--from", dest="sources", type=Path, action="append",
                        help="where the entry before a new one has its rows (default --out, then results/)")
    common.add_timing(parser)
    common.add_out(parser)
    common.add_lineup(parser)


def _table(findings: list, lineup: list) -> list[str]:
    from matrix.run.watch import WATCHED, newest_entry
    newest = newest_entry(lineup)
    rows = [("package", f"{newest.id}'s", "newer", "what watch does")]
    for package in WATCHED:
        mine = [f for f in findings if f.package == package]
        pinned = newest.pin(package)
        if pinned is None:
            rows.append((package, "—", "—", f"nothing: {newest.id} does not pin it"))
        rows += [(package, pinned, f.version, f.action + (f": {f.reason}" if f.reason else "")) for f in mine]
        if pinned is not None and not mine:
            rows.append((package, pinned, "—", "nothing: up to date"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(3)]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3] for r in rows]


def run(args: argparse.Namespace) -> int:
    from matrix.envs.index import IndexUnavailable
    from matrix.envs.lineup import load_lineup
    from matrix.run.watch import find_newer
    lineup = load_lineup(args.lineup)
    try:
        findings = find_newer(lineup, args.pre, args.index, args.index_timeout)
    except IndexUnavailable as exc:
        common.eprint(f"error: {exc}; the lineup is untouched")
        return 2
    print("\n".join(_table(findings, lineup)))
    todo = [f for f in findings if f.action.startswith("add ")]
    if args.dry_run or not todo:
        return 0
    return max(_add_run_diff(args, finding) for finding in todo)


def _add_run_diff(args: argparse.Namespace, finding) -> int:
    """One release: its entry resolved and written, its run, its diff. 0 when done (or not writable: said why)."""
    from matrix.envs.lineup import load_lineup
    from matrix.envs.lock import resolve
    from matrix.run.watch import add_entry, newest_entry, resolved_entry
    lineup = load_lineup(args.lineup)
    base = newest_entry(lineup)
    entry, reason = resolved_entry(base, finding.package, finding.version, resolve, lineup)
    if entry is None:
        common.eprint(f"watch: not written: {reason}")
        return 0
    add_entry(args.lineup, entry)
    print(f"{args.lineup}: added {entry.id} ({len(entry.pins)} pins: "
          + ", ".join(r for r in entry.requires) + ")")
    status = _run_entry(args, entry.id)
    print(f"diff: {_diff(args, base.id, entry.id, status)}")
    return status


def _run_entry(args: argparse.Namespace, env_id: str) -> int:
    from matrix.commands import run as run_command
    return run_command.run(common.namespace(
        run_command, env=[env_id], lineup=args.lineup, out=args.out, cases=args.cases, timeout=args.timeout,
        time_budget=args.time_budget, allow_regressions=True, no_report=True, gpu=False))


def _diff(args: argparse.Namespace, before: str, after: str, status: int) -> Path:
    from matrix.envs.lineup import by_id, load_lineup
    from matrix.results.safe import inside, slug
    from matrix.views.watchdiff import env_view, markdown, write_markdown
    view, where = env_view([args.out, *(args.sources or [RESULTS_DIR])], [before, after])
    missing = [env_id for env_id in (before, after) if env_id not in where]
    text = (markdown(view, before, after, by_id(load_lineup(args.lineup)), where) if not missing else
            f"# {after} against {before}\n\nNo diff: no rows of {' or '.join(missing)} (the run of {after} exited "
            f"{status}; rows looked for in {', '.join(str(f) for f in [args.out, *(args.sources or [RESULTS_DIR])])}).\n")
    return write_markdown(inside(args.out, "watch", f"{slug(after)}.md"), text)
