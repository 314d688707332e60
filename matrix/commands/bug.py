"""``bug CELL``: an issue-ready Markdown report (whose bug, versions, the smallest repro, the file on every
runtime, the cell across releases), to stdout or --out FILE.md."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from matrix.commands import common
from matrix.paths import DEFAULT_OUT, RESULTS_DIR

NAME = "bug"
HELP = "write an issue-ready Markdown report of a failing cell"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", help="a cell key (as in the report)")
    parser.add_argument("--env", help="the environment whose row to report, when several have the cell")
    parser.add_argument("--from", dest="sources", type=Path, action="append",
                        help="out folders to read rows from (default reports, then results)")
    parser.add_argument("--reduced", type=Path,
                        help="the folder `reduce CELL` wrote (default reduce-<case> here, where it is this cell's)")
    parser.add_argument("--out", type=Path, help="write the Markdown here instead of stdout")
    common.add_lineup(parser)


def _reduced(folder: Path, cell: str) -> dict[str, Any] | None:
    try:
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) and result.get("cell") == cell else None


def evidence(sources: list[Path], row: dict[str, Any], order: list[str]) -> tuple[list[dict], list[dict]]:
    """(rows of the same exported file, native and replayed; the newest row of the same cell per environment, in
    lineup order) from every source folder."""
    from matrix.results.read import RUN_ORDER, Results
    from matrix.run.reduce import clean
    related: dict[str, dict] = {}
    history: dict[str, dict] = {}
    own_cell = str(row["cell"]).split("@")[0]
    for source in sources:
        if not (source / "runs").is_dir():
            continue
        frame = Results(source.resolve()).rows().sort_values(RUN_ORDER)
        if row.get("export_sha256"):
            same = frame[(frame["export_sha256"] == row["export_sha256"]) & (frame["env_id"] == row["env_id"])]
            related.update((r["cell"], clean(r)) for r in same.to_dict("records"))
        cell = frame[(frame["cell"] == own_cell) & (frame["runtime_env"].fillna("") == "")]
        history.update((r["env_id"], clean(r)) for r in cell.to_dict("records"))
    related.setdefault(str(row["cell"]), row)
    ranked = sorted(history.values(), key=lambda r: order.index(r["env_id"]) if r["env_id"] in order else len(order))
    return list(related.values()), ranked


def run(args: argparse.Namespace) -> int:
    from matrix.results.safe import inside, slug
    from matrix.run.reduce import ReduceError, find_row
    from matrix.views.bug import bug_report
    sources = args.sources or [DEFAULT_OUT, RESULTS_DIR]
    try:
        row, _ = find_row(sources, args.cell, args.env)
    except ReduceError as exc:
        common.eprint(f"error: {exc}")
        return 2
    if row.get("status") in ("pass", "skip"):
        common.eprint(f"error: cell {row['cell']} is {row['status']} in {row['env_id']}: no bug to report")
        return 2
    order = [e.id for e in common.lineup_or_none(args.lineup)]
    related, history = evidence(sources, row, order)
    folder = args.reduced or inside(Path.cwd(), f"reduce-{slug(row['case'])}")
    from matrix.views.bisect import bug_line, read_state
    bisected = read_state(inside(DEFAULT_OUT, "bisect", slug(row["cell"])), row["cell"])  # `bisect CELL` wrote it
    text = bug_report(row, related, history, _reduced(folder, row["cell"]), str(folder), bug_line(bisected))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        common.eprint(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
