"""Release diffs: what changed from one lineup release to the next (``matrix.views.diff.release_diff``).

Cells that broke, got fixed or fail differently, grouped by change, then by case and variant,
then by what happened (statuses and error): a hundred opsets and runtimes failing the same way
read as one entry listing where.
"""
from __future__ import annotations

from typing import Any

from matrix.results.read import without_colours
from matrix.views.diff import CHANGES, release_diff
from matrix.views.labels import runtime_label
from matrix.views.site.load import SiteData
from matrix.views.site.render import clean


def diff_context(data: SiteData, before: str, after: str) -> dict[str, Any]:
    frame = release_diff(data.view, before, after)
    groups: dict[str, dict[tuple, dict[str, Any]]] = {change: {} for change in CHANGES}
    for record in frame.to_dict("records"):
        row = {k: without_colours(clean(v)) for k, v in record.items()}  # torch's errors carry terminal colours
        # a fix is explained by the error it no longer has; a break or a new failure by the one it now has
        error = row["error_before"] if row["change"] == "fixed" else row["error_after"]
        key = (str(row["case"]), str(row["variant"]), row["status_before"], row["status_after"], str(error or ""))
        entry = groups.setdefault(row["change"], {}).setdefault(key, {
            "case": key[0], "variant": key[1], "status_before": key[2], "status_after": key[3],
            "error": key[4], "error_before": str(row["error_before"] or ""), "where": []})
        where = f"{row['exporter']} opset {row['opset_requested']} {runtime_label(row['runtime'], row['provider'])}"
        entry["where"].append(where + (f" ({row['options']})" if row.get("options") else ""))
    sections = [{"change": change, "count": sum(len(e["where"]) for e in entries.values()),
                 "entries": sorted(entries.values(), key=lambda e: (e["case"], e["variant"], -len(e["where"])))}
                for change, entries in groups.items()]
    return {"before": before, "after": after, "sections": sections,
            "counts": {s["change"]: s["count"] for s in sections}, "total": len(frame)}


def diff_contexts(data: SiteData) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a, b): diff_context(data, a, b) for a, b in zip(data.lineup_ids, data.lineup_ids[1:])}
