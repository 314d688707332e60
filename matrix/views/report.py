"""The HTML report: a plain dict from the results, rendered by jinja2 with autoescape.

``index.html`` is the matrix; ``cases/<id>.html`` a page per case with its reproductions.
Both are self-contained (inline CSS and JS, nothing fetched), so the folder opens offline
or as a static site. Every file is written to a temporary name and renamed, so a failed
render never leaves a broken or empty page where a good one was.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from matrix.envs.lineup import Entry, by_id, env_order
from matrix.paths import CASES_DIR
from matrix.results.read import Results
from matrix.results.safe import inside, slug
from matrix.results.store import write_json
from matrix.views import html
from matrix.views.cells import case_entry, cell_summary
from matrix.views.claims import claim_table
from matrix.views.frames import COLUMN_KEYS, current_view, newest_run, shown_columns
from matrix.views.gpu import side_by_side
from matrix.views.labels import PASS, SKIP, runtime_label
from matrix.views.opsets import COUNTED, COUNTED_NOTE, WITH_REPLAYS, cells, env_counts
from matrix.views.repro import ReproError, build_script, shell_snippet
from matrix.views.triage import triage_view
from matrix.views.values import clean
from matrix.wire import VERSION_FIELDS

REPO_CASES = CASES_DIR


def case_page(case_id: object) -> str:
    """A case's page, relative to the report's root: its id slugged (any text stays one file in cases/)."""
    return "cases/" + quote(f"{slug(case_id)}.html", safe=".-_+~=,")


def _header_spans(columns: list[dict], depth: int) -> list[dict]:
    """Colspans for the header row at ``depth`` (0 env, 1 exporter, 2 opset)."""
    spans: list[dict] = []
    for column in columns:
        key = tuple(column[k] for k in COLUMN_KEYS[: depth + 1])
        if spans and spans[-1]["key"] == key:
            spans[-1]["span"] += 1
        else:
            spans.append({"key": key, "label": key[-1], "span": 1})
    return spans


def _group_hidden(hidden: pd.DataFrame) -> list[dict]:
    """Skipped columns grouped by environment and reason: a few lines instead of one per column."""
    groups: dict[tuple, list[str]] = {}
    for h in hidden.to_dict("records"):
        label = f"{h['exporter']} opset {h['opset']} {runtime_label(h['runtime'], h['provider'])}"
        if clean(h.get("runtime_env")):  # a replay's column: the runtimes of another environment
            label += f" @{h['runtime_env']}"
        groups.setdefault((h["env_id"], clean(h["reason"]) or "skipped"), []).append(label)
    return [{"env_id": env, "reason": reason, "columns": cols} for (env, reason), cols in groups.items()]


def reproduction(row: dict, case: dict | None, entries: dict[str, Entry]) -> str:
    """The copy-paste reproduction of a failing row, or why there is none."""
    try:
        script, commands = build_script(row, case or {}, entries.get(row["env_id"]),
                                        entries.get(row.get("runtime_env") or row["env_id"]))
    except ReproError as exc:
        return f"# no reproduction: {exc}"
    digest = hashlib.sha256(f"{row['env_id']} {row['cell']}".encode()).hexdigest()[:6]
    return shell_snippet(script, commands, f"repro-{slug(row['case'])}-{digest}")  # one folder per snippet


def _env_row(view: pd.DataFrame, skips: pd.DataFrame, env_id: str, entries: dict[str, Entry],
             counts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An environment's line in the report: its versions, note, and its own cells as every page counts them
    (``opsets.COUNTED``), by status and verdict; the columns not applicable beside them, not among them."""
    sub = view[(view["env_id"] == env_id) & (view["runtime_env"] == "")]
    last = sub.iloc[-1] if len(sub) else None
    ran = sub[sub["status"] != SKIP]
    # its own columns only: a replay's skipped columns belong to the runtime environment that replayed
    not_applicable = int(skips[(skips["env_id"] == env_id) & (skips["runtime_env"] == "")]["cells"].sum()
                         ) if not skips.empty else 0
    count = counts.get(env_id, {})
    return {"id": env_id, "versions": {k: clean(last.get(k)) if last is not None else None for k in VERSION_FIELDS},
            "note": entries[env_id].note if env_id in entries else "",
            "cells": count.get("cells", 0), "with_replays": count.get("with_replays", 0),
            "statuses": count.get("statuses", {}), "not_applicable": not_applicable + int((sub["status"] == SKIP).sum()),
            "verdicts": ran["verdict"].value_counts().to_dict(),
            "stale": int(sub["stale"].sum()), "run_id": newest_run(sub)}


def build_context(results: Results, lineup: list[Entry]) -> dict[str, Any]:
    rows_view = current_view(results.rows(), results.current_hashes())
    view = cells(rows_view)  # one cell per exported file (opsets.py); triage reads the rows themselves
    catalogue = results.catalogue()
    skips = results.skips()
    shown, hidden = shown_columns(view, skips)
    entries = by_id(lineup)
    env_key = env_order(lineup)  # lineup order: oldest torch first, a GPU variant after its entry
    columns = [{k: clean(v) for k, v in c.items()} for c in shown.to_dict("records")]
    columns.sort(key=lambda c: (env_key(c["env_id"]), c["exporter"], c["opset"] or 0, c["runtime_env"] or "",
                                c["runtime"], c["provider"]))
    index = {tuple(c[k] for k in COLUMN_KEYS): i for i, c in enumerate(columns)}
    rows: dict[tuple, dict] = {}
    details = []
    for record in view.to_dict("records"):
        record = {k: clean(v) for k, v in record.items()}
        position = index.get(tuple(record[k] for k in COLUMN_KEYS))
        if position is None:
            continue
        key = (record["case"], record["variant"], record["options"])
        meta = (catalogue.get(record["case"]) or {}).get("meta") or {}
        line = rows.setdefault(key, {"case": record["case"], "variant": record["variant"],
                                     "options": record["options"], "cells": [None] * len(columns),
                                     "title": meta.get("title", "") if isinstance(meta, dict) else ""})
        detail_id = f"d{len(details)}"
        details.append({"id": detail_id, "row": record, "versions": {k: record.get(k) for k in VERSION_FIELDS},
                        "failing": record["status"] not in (PASS, SKIP)})
        line["cells"][position] = {"status": record["status"], "verdict": record.get("verdict"),
                                   "stale": bool(record.get("stale")), "summary": cell_summary(record),
                                   "detail": detail_id}
    env_ids = sorted(set(view["env_id"]), key=env_key) if not view.empty else []
    counts = env_counts(view)
    env_rows = [_env_row(view, skips, env_id, entries, counts) for env_id in env_ids]
    cases = [case_entry(catalogue[c]) for c in sorted(catalogue)]
    return {
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "columns": columns,
        "headers": [_header_spans(columns, d) for d in range(3)],
        "rows": [rows[k] for k in sorted(rows)],
        "details": details,
        "hidden": _group_hidden(hidden),
        "envs": env_rows,
        "cases": cases,
        "broken": [c for c in cases if c["error"]],
        "claims": claim_table(view, {c["id"]: c for c in cases if not c["error"]}, env_ids) if not view.empty else [],
        "unexpected": triage_view(rows_view, lineup),
        "counted": COUNTED, "counted_note": COUNTED_NOTE, "with_replays": WITH_REPLAYS,
        "gpu_pairs": [{k: clean(v) for k, v in r.items()} for r in side_by_side(view).to_dict("records")],
        "stale": int(view["stale"].sum()) if not view.empty else 0,
        "env_ids": env_ids,
        "version_columns": [k for k in VERSION_FIELDS if k not in ("cpu", "gpu")],
        "entries": entries,
        "results": results,
        "problems": results.problems,
    }


def case_pages(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One context per case page: its metadata, sources, its matrix rows and one reproduction per kind of failure."""
    pages = {}
    by_case: dict[str, list] = {}  # grouped once: scanning every row for every case was quadratic in the cases
    for r in context["rows"]:
        by_case.setdefault(r["case"], []).append(r)
    position = {d["id"]: i for i, d in enumerate(context["details"])}
    for case in context["cases"]:
        rows = by_case.get(case["id"], [])
        wanted = {c["detail"] for r in rows for c in r["cells"] if c}
        details = [context["details"][i] for i in sorted(position[w] for w in wanted if w in position)]
        failing, seen = [], set()
        for detail in details:
            row = detail["row"]
            kind = (row["env_id"], row["variant"], row["options"], row["exporter"], row["runtime"],
                    row.get("runtime_env"), row["status"])
            if detail["failing"] and kind not in seen:
                seen.add(kind)
                as_run = context["results"].case_as_run(row["run_id"], row["env_id"], row["case"])
                failing.append({**detail, "repro": reproduction(row, case_entry(as_run) if as_run else case,
                                                                 context["entries"])})
        pages[case["id"]] = {**context, "case": case, "rows": rows, "details": details, "failing": failing}
    return pages


def render_report(out: Path, lineup: list[Entry] | None = None, case_dirs: list[Path] | None = None) -> tuple[Path, list[str]]:
    environment = html.environment("report", case_page=case_page)
    results = Results(out, case_dirs if case_dirs is not None else [REPO_CASES])
    context = build_context(results, lineup or [])
    out.mkdir(parents=True, exist_ok=True)
    (out / "cases").mkdir(exist_ok=True)
    case_html = environment.get_template("case.html")
    for case_id, page in case_pages(context).items():  # each page written as it is rendered, never all held
        # a foreign catalogue's id is any text: never a path of its own
        html.write_page(inside(out / "cases", f"{slug(case_id)}.html"), case_html.render(**page, root="../"))
    index = out / "index.html"
    html.write_page(index, environment.get_template("index.html").generate(**context, root=""))  # streamed
    write_json(out / "summary.json", {"envs": context["envs"], "problems": context["problems"]})
    return index, context["problems"]
