"""Every cell's status across the published runs, and where it changed.

``results/`` keeps older runs of an environment as its history (rows only). An environment's
history page has a row per cell (by the opset of its file, ``opsets.cells``) that ran in some run
(cells never applicable are left out)
and a column per run that has rows of it, oldest first; a status that differs from the one
before it (both having run) is a change. With one run per environment it is one column.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from matrix.results.store import ResultsError, read_json
from matrix.views.frames import options_text
from matrix.views.labels import SKIP, runtime_label
from matrix.views.opsets import COUNTED, WITH_REPLAYS, cells
from matrix.views.site.load import SiteData
from matrix.views.site.render import clean
from matrix.wire import EXPORT_OPTIONS

LABELS = ["case", "variant", "exporter", "opset", "opset_label", "runtime", "provider", "runtime_env", "options"]
NOT_RUN = (SKIP, None)


def _run_info(data: SiteData) -> dict[str, dict[str, Any]]:
    info = {}
    for run in data.runs:
        try:
            meta = read_json(run.path / "run.json")
        except ResultsError:
            meta = None
        meta = meta if isinstance(meta, dict) else {}
        info[run.run_id] = {"id": run.run_id, "created": str(meta.get("created") or "")[:16].replace("T", " "),
                            "harness": meta.get("harness_version"), "commit": str(meta.get("commit") or "")[:12]}
    return info


def run_cells(data: SiteData) -> pd.DataFrame:
    """Every run's cells (by the opset of their file, as every page counts them), the last row of each."""
    frame = data.rows.sort_values("finished_at", na_position="first", kind="stable")
    frame = frame.assign(run_id=frame["run_id"].fillna("?"))
    frame = frame.drop_duplicates(["env_id", "cell", "run_id"], keep="last")
    frame = frame.assign(options=[options_text(r) for r in frame[list(EXPORT_OPTIONS)].to_dict("records")])
    return cells(frame, by=["run_id"])


def _marks(seq: list[Any]) -> list[dict[str, Any]]:
    marks, last = [], None
    for status in seq:
        changed = status not in NOT_RUN and last not in NOT_RUN and status != last
        marks.append({"status": status, "changed": changed})
        if status not in NOT_RUN:
            last = status
    return marks


def _env_history(sub: pd.DataFrame, runs: dict[str, dict[str, Any]], order: dict[str, int], env_id: str,
                 counts: dict[str, Any]) -> dict[str, Any]:
    run_ids = sorted(set(sub["run_id"]), key=lambda r: (order.get(r, len(order)), r))
    statuses = sub.pivot(index="cell_key", columns="run_id", values="status").reindex(columns=run_ids)
    labels = sub.drop_duplicates("cell_key", keep="last").set_index("cell_key")[LABELS].to_dict("index")
    found = []
    for key, line in zip(statuses.index, statuses.itertuples(index=False, name=None)):
        seq = [clean(s) for s in line]
        if all(s in NOT_RUN for s in seq):
            continue
        label = {k: clean(v) for k, v in labels[key].items()}
        marks = _marks(seq)
        found.append({"cell": key, "case": label["case"], "variant": label["variant"],
                      "exporter": label["exporter"], "opset": label["opset"], "opset_label": label["opset_label"],
                      "runtime": runtime_label(label["runtime"], label["provider"])
                      + (f" @{label['runtime_env']}" if label.get("runtime_env") else ""),
                      "options": label.get("options") or "", "runs": marks,
                      "changed": any(m["changed"] for m in marks)})
    found.sort(key=lambda c: (not c["changed"], str(c["case"]), str(c["variant"]), str(c["exporter"]),
                              c["opset"] if isinstance(c["opset"], int) else -1, c["runtime"], c["options"], c["cell"]))
    changes = [sum(1 for c in found if c["runs"][i]["changed"]) for i in range(len(run_ids))]
    return {"env_id": env_id, "cells": found, "changes": changes,
            "runs": [runs.get(r, {"id": r, "created": "", "harness": None, "commit": ""}) for r in run_ids],
            "changed": sum(1 for c in found if c["changed"]), "left_out": int(len(statuses) - len(found)),
            "counted": COUNTED, "with_replays": WITH_REPLAYS, "count": counts}


def history_contexts(data: SiteData, frame: pd.DataFrame | None = None
                     ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the index page's context, one context per environment); ``frame`` is ``run_cells(data)``."""
    runs = _run_info(data)
    order = {run_id: i for i, run_id in enumerate(runs)}
    if frame is None:
        frame = run_cells(data) if not data.rows.empty else data.rows
    per_env = {env_id: _env_history(frame[frame["env_id"] == env_id], runs, order, env_id,
                                    data.counts.get(env_id, {})) for env_id in data.env_ids}
    index = {"envs": [{"env_id": e, "runs": len(p["runs"]), "cells": p["count"].get("cells", 0),
                       "with_replays": p["count"].get("with_replays", 0), "changed": p["changed"]}
                      for e, p in per_env.items()],
             "runs": list(runs.values()), "counted": COUNTED, "with_replays": WITH_REPLAYS}
    return index, per_env
