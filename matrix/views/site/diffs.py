"""Release diffs: what changed from one lineup release to another (``matrix.views.diff.release_diff``).

A page per pair of releases, any two (the earlier first), so a picker can open any of them; the overview
lists the neighbouring ones. Each page says per exporter and per runtime how many cells changed.

Cells that broke, got fixed or fail differently, grouped by change, then by case and variant,
then by what happened (statuses and error): a hundred opsets and runtimes failing the same way
read as one entry listing where.
"""
from __future__ import annotations

from typing import Any

from matrix.results.read import without_colours
from matrix.views.diff import CHANGES, release_diff, summaries
from matrix.views.labels import runtime_label
from matrix.views.opsets import COUNTED
from matrix.views.site import paths
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
        where = f"{row['exporter']} {row['opset_label']} {runtime_label(row['runtime'], row['provider'])}"
        entry["where"].append(where + (f" ({row['options']})" if row.get("options") else ""))
    sections = [{"change": change, "count": sum(len(e["where"]) for e in entries.values()),
                 "entries": sorted(entries.values(), key=lambda e: (e["case"], e["variant"], -len(e["where"])))}
                for change, entries in groups.items()]
    return {"before": before, "after": after, "sections": sections, "changes": CHANGES, "summaries": summaries(frame),
            "counts": {s["change"]: s["count"] for s in sections}, "total": len(frame),
            "sides": [{"env_id": e, **data.counts.get(e, {"cells": 0, "passed": 0})} for e in (before, after)],
            "counted": COUNTED,
            "releases": data.lineup_ids, "neighbours": after in data.lineup_ids
            and data.lineup_ids.index(after) - data.lineup_ids.index(before) == 1}


def diff_pairs(data: SiteData) -> list[tuple[str, str]]:
    """Every pair of lineup releases, the earlier first: the neighbours, then the wider steps."""
    ids = data.lineup_ids
    return [(ids[i], ids[j]) for step in range(1, len(ids)) for i in range(len(ids) - step) for j in (i + step,)]


def diff_contexts(data: SiteData) -> dict[tuple[str, str], dict[str, Any]]:
    pairs = diff_pairs(data)
    pages = {f"{a}..{b}": paths.href(paths.diff_page(a, b)) for a, b in pairs}  # the picker's targets
    return {(a, b): {**diff_context(data, a, b), "pair_pages": pages} for a, b in pairs}
