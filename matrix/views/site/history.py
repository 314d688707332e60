"""Every cell's status across the published runs, and where it changed.

``results/`` keeps older runs of an environment as its history (rows only). An environment's
history page has a row per cell that ran in some run (cells never applicable are left out)
and a column per run that has rows of it, oldest first; a status that differs from the one
before it (both having run) is a change. With one run per environment it is one column.
"""
from __future__ import annotations

from typing import Any

from matrix.results.store import ResultsError, read_json
from matrix.views.frames import options_text
from matrix.views.labels import SKIP, runtime_label
from matrix.views.site.load import SiteData
from matrix.views.site.render import clean
from matrix.wire import EXPORT_OPTIONS

LABELS = ["case", "variant", "exporter", "opset_requested", "runtime", "provider", "runtime_env", *EXPORT_OPTIONS]
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


def history_contexts(data: SiteData) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the index page's context, one context per environment)."""
    runs = _run_info(data)
    order = {run_id: i for i, run_id in enumerate(runs)}
    per_env: dict[str, dict[str, Any]] = {}
    frame = data.rows.sort_values("finished_at", na_position="first", kind="stable")
    frame = frame.assign(run_id=frame["run_id"].fillna("?"))
    frame = frame.drop_duplicates(["env_id", "cell", "run_id"], keep="last")
    for env_id in data.env_ids:
        sub = frame[frame["env_id"] == env_id]
        run_ids = sorted(set(sub["run_id"]), key=lambda r: (order.get(r, len(order)), r))
        statuses = sub.pivot(index="cell", columns="run_id", values="status").reindex(columns=run_ids)
        labels = sub.drop_duplicates("cell", keep="last").set_index("cell")[LABELS].to_dict("index")
        cells = []
        for cell, line in zip(statuses.index, statuses.itertuples(index=False, name=None)):
            seq = [clean(s) for s in line]
            if all(s in NOT_RUN for s in seq):
                continue
            label = {k: clean(v) for k, v in labels[cell].items()}
            marks, last = [], None
            for status in seq:
                changed = status not in NOT_RUN and last not in NOT_RUN and status != last
                marks.append({"status": status, "changed": changed})
                if status not in NOT_RUN:
                    last = status
            cells.append({"cell": cell, "case": label["case"], "variant": label["variant"],
                          "exporter": label["exporter"], "opset": label["opset_requested"],
                          "runtime": runtime_label(label["runtime"], label["provider"])
                          + (f" @{label['runtime_env']}" if label.get("runtime_env") else ""),
                          "options": options_text(label), "runs": marks,
                          "changed": any(m["changed"] for m in marks)})
        cells.sort(key=lambda c: (not c["changed"], str(c["case"]), str(c["variant"]), str(c["exporter"]),
                                  c["opset"] if isinstance(c["opset"], int) else -1, c["runtime"], c["options"], c["cell"]))
        changes = [sum(1 for c in cells if c["runs"][i]["changed"]) for i in range(len(run_ids))]
        per_env[env_id] = {"env_id": env_id, "cells": cells, "changes": changes,
                           "runs": [runs.get(r, {"id": r, "created": "", "harness": None, "commit": ""}) for r in run_ids],
                           "changed": sum(1 for c in cells if c["changed"]),
                           "left_out": int(len(statuses) - len(cells))}
    index = {"envs": [{"env_id": e, "runs": len(p["runs"]), "cells": len(p["cells"]), "changed": p["changed"]}
                      for e, p in per_env.items()],
             "runs": list(runs.values())}
    return index, per_env
