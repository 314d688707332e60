"""The runtime axis's page (``runtimes.html``): exported files x onnxruntime releases, and the diffs between
neighbouring releases, from ``results/runtimes/`` (``<entry>.parquet`` rows, ``<entry>.json`` the axis's record:
every release considered, and why one did not run)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from matrix.results.rows import read_rows
from matrix.views.runtimes import NOTES, axis_frame, neighbour_diffs, overview
from matrix.views.site.render import Pages

PAGE = "runtimes.html"


def axis_context(folder: Path) -> list[dict[str, Any]]:
    """One block per lineup entry with a published axis: its record, overview and neighbour diffs."""
    blocks = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or "entry" not in record:
            continue
        rows, _problems = read_rows(folder / f"{record['entry']}.parquet")
        frame = axis_frame(pd.DataFrame.from_records(rows), record["entry"]) if rows else pd.DataFrame()
        releases = record.get("releases") or {}
        view = overview(frame) if not frame.empty else {"releases": [], "files": [], "counts": {}, "moving": 0}
        blocks.append({"entry": record["entry"], "python": record.get("python"), "own": record.get("onnxruntime"),
                       "files_of": record.get("files"), "overview": view,
                       "diffs": neighbour_diffs(frame) if not frame.empty else [],
                       "ran": {v: r for v, r in releases.items() if r.get("outcome") == "ran"},
                       "not_run": [{"release": v, **r} for v, r in releases.items() if r.get("outcome") != "ran"],
                       "notes": {v: NOTES.format(v) for v in view["releases"]}})
    return blocks


def write_runtimes(source: Path, pages: Pages, common: dict[str, Any]) -> None:
    """Render the page (it says so where nothing is published yet, so the navigation never leads nowhere)."""
    pages.render(PAGE, "runtimes.html", **common, blocks=axis_context(source / "runtimes"))
