"""A case's cells across releases, and across the published runs of each release: the history users ask for
("did this ever work, and since when?").

One page per case (``history/cases/<case>.html``): a compact table, a row per cell (variant, export options,
exporter, the opset of its file, runtime; the environments' own runtimes), a column per release, each
status in a short word; where a release's published runs disagree, the cell says so and lists them. The
table scrolls inside its box, so a phone shows a screen of it, not a page thousands of pixels long.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from matrix.views.labels import SKIP, runtime_label
from matrix.views.site.load import SiteData
from matrix.views.site.render import clean

LABELS = ["variant", "options", "exporter", "opset", "opset_label", "runtime", "provider"]


def _runs_by_cell(history: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """(env id, cell key) -> its statuses in each published run, oldest first (native cells only)."""
    if history.empty:
        return {}
    native = history[(history["runtime_env"].fillna("") == "") & (history["status"] != SKIP)]
    found: dict[tuple[str, str], list[str]] = {}
    for record in native[["env_id", "cell_key", "status"]].itertuples(index=False):
        found.setdefault((str(record.env_id), str(record.cell_key)), []).append(str(record.status))
    return found


def case_history(data: SiteData, case_id: str, runs: dict[tuple[str, str], list[str]]) -> dict[str, Any]:
    view = data.native
    sub = view[(view["case"] == case_id) & (view["status"] != SKIP)] if not view.empty else view
    releases = [e for e in data.env_ids if not sub.empty and e in set(sub["env_id"])]
    lines: dict[str, dict[str, Any]] = {}
    for record in sub.to_dict("records"):
        row = {k: clean(record.get(k)) for k in (*LABELS, "env_id", "cell_key", "status")}
        line = lines.setdefault(str(row["cell_key"]), {
            "key": row["cell_key"], "variant": row["variant"], "options": row["options"] or "",
            "exporter": row["exporter"], "opset": row["opset"],
            "runtime": runtime_label(row["runtime"], row["provider"]), "releases": {}})
        seen = runs.get((str(row["env_id"]), str(row["cell_key"])), [])
        line["releases"][row["env_id"]] = {"status": row["status"],
                                          "runs": seen if len(set(seen)) > 1 else []}
    rows = sorted(lines.values(), key=lambda l: (str(l["variant"]), l["options"], str(l["exporter"]),
                                                 l["opset"] if isinstance(l["opset"], int) else -1, l["runtime"]))
    for line in rows:
        line["cells"] = [line["releases"].get(e) for e in releases]
        statuses = [c["status"] for c in line["cells"] if c]
        line["changed"] = len(set(statuses)) > 1
        del line["releases"]
    return {"case_id": case_id, "releases": releases, "rows": rows,
            "changed": sum(1 for r in rows if r["changed"]),
            "flapping": sum(1 for r in rows for c in r["cells"] if c and c["runs"])}


def case_histories(data: SiteData, history: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One context per case; ``history`` is every run's cells (``history._run_cells``)."""
    runs = _runs_by_cell(history)
    return {case_id: case_history(data, case_id, runs) for case_id in data.cases}
