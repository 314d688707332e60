"""The HTML report: a plain dict from the results, rendered by jinja2 with autoescape.

``index.html`` is the matrix; ``cases/<id>.html`` a page per case with its reproductions.
Both are self-contained (inline CSS and JS, nothing fetched), so the folder opens offline
or as a static site. Every file is written to a temporary name and renamed, so a failed
render never leaves a broken or empty page where a good one was.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from matrix.envs.lineup import Entry, by_id, env_order
from matrix.paths import CASES_DIR, TEMPLATES_DIR
from matrix.results.read import Results
from matrix.results.store import write_json
from matrix.views.claims import claim_table
from matrix.views.frames import COLUMN_KEYS, current_view, shown_columns
from matrix.views.gpu import side_by_side
from matrix.views.repro import ReproError, build_script, shell_snippet
from matrix.views.triage import triage_view
from matrix.views.values import clean, number
from matrix.wire import VERSION_FIELDS

TEMPLATES = TEMPLATES_DIR
REPO_CASES = CASES_DIR
SHORT = {"CPUExecutionProvider": "CPU", "CUDAExecutionProvider": "CUDA"}
STATUSES = ["pass", "diverge", "batch-fail", "export-fail", "load-fail", "run-fail", "build-fail", "crash", "timeout",
            "flaky", "skip"]


def _column_label(column: dict) -> dict:
    return {**column, "provider_short": SHORT.get(column["provider"], column["provider"])}


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


def cell_summary(row: dict) -> str:
    parts = []
    error = row.get("error") or ""
    if row["status"] == "diverge" and ("has shape" in error or "outputs, eager PyTorch gives" in error):
        parts.append("shape" if "has shape" in error else "outputs")  # a wrong shape has no error to show
    elif row.get("max_abs_err") is not None and row["status"] in ("pass", "diverge", "batch-fail"):
        parts.append("Δ" + number(row["max_abs_err"]))
    if row.get("latency_ms") is not None:
        parts.append(number(row["latency_ms"], "ms"))
    return " · ".join(parts)


def _group_hidden(hidden: pd.DataFrame) -> list[dict]:
    """Skipped columns grouped by environment and reason: a few lines instead of one per column."""
    groups: dict[tuple, list[str]] = {}
    for h in hidden.to_dict("records"):
        label = f"{h['exporter']} opset {h['opset_requested']} {h['runtime']}/{SHORT.get(h['provider'], h['provider'])}"
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
    return shell_snippet(script, commands, f"repro-{row['case']}-{digest}")  # one folder per snippet


def build_context(results: Results, lineup: list[Entry]) -> dict[str, Any]:
    view = current_view(results.rows(), results.current_hashes())
    catalogue = results.catalogue()
    skips = results.skips()
    shown, hidden = shown_columns(view, skips)
    entries = by_id(lineup)
    env_key = env_order(lineup)  # lineup order: oldest torch first, a GPU variant after its entry
    columns = [_column_label({k: clean(v) for k, v in c.items()}) for c in shown.to_dict("records")]
    columns.sort(key=lambda c: (env_key(c["env_id"]), c["exporter"], c["opset_requested"] or 0, c["runtime_env"] or "",
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
                        "failing": record["status"] not in ("pass", "skip")})
        line["cells"][position] = {"status": record["status"], "verdict": record.get("verdict"),
                                   "stale": bool(record.get("stale")), "summary": cell_summary(record),
                                   "detail": detail_id}
    env_ids = sorted(set(view["env_id"]), key=env_key) if not view.empty else []
    env_rows = []
    for env_id in env_ids:
        sub = view[(view["env_id"] == env_id) & (view["runtime_env"] == "")]
        last = sub.iloc[-1] if len(sub) else None
        statuses = sub["status"].value_counts().to_dict()
        # its own columns only: a replay's skipped columns belong to the runtime environment that replayed
        not_applicable = int(skips[(skips["env_id"] == env_id) & (skips["runtime_env"] == "")]["cells"].sum()
                             ) if not skips.empty else 0
        if not_applicable:
            statuses["skip"] = statuses.get("skip", 0) + not_applicable
        env_rows.append({"id": env_id, "versions": {k: clean(last.get(k)) if last is not None else None
                                                    for k in VERSION_FIELDS},
                         "note": entries[env_id].note if env_id in entries else "",
                         "cells": len(sub) + not_applicable, "statuses": statuses,
                         "verdicts": sub["verdict"].value_counts().to_dict(),
                         "stale": int(sub["stale"].sum()), "run_id": sub["run_id"].max() if len(sub) else ""})
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
        "unexpected": triage_view(view, lineup),
        "gpu_pairs": [{k: clean(v) for k, v in r.items()} for r in side_by_side(view).to_dict("records")],
        "stale": int(view["stale"].sum()) if not view.empty else 0,
        "env_ids": env_ids,
        "version_columns": [k for k in VERSION_FIELDS if k not in ("cpu", "gpu")],
        "entries": entries,
        "results": results,
        "problems": results.problems,
    }


_META_SHAPE = {"title": str, "pitfall": str, "seed": list, "links": list, "expect": list, "atol": (int, float),
               "rtol": (int, float), "batchable": bool, "naive": (dict, type(None)), "fixed": (dict, type(None)),
               "holds_when": str, "options": (dict, type(None)), "timeout": (int, float, type(None))}


def meta_problem(meta: Any) -> str | None:
    """What is wrong with the shape of a catalogue's case metadata (older or foreign writers), or None."""
    if not isinstance(meta, dict):
        return f"metadata of the wrong shape ({type(meta).__name__}, not a table)"
    for key, kind in _META_SHAPE.items():
        if key in meta and not isinstance(meta[key], kind):
            return f"metadata of the wrong shape ({key}: {meta[key]!r})"
    for key in ("title", "pitfall"):
        if not isinstance(meta.get(key), str):
            return f"metadata of the wrong shape ({key}: {meta.get(key)!r})"
    if not all(isinstance(s, str) for s in meta.get("seed") or []):
        return f"metadata of the wrong shape (seed: {meta.get('seed')!r})"
    if not all(isinstance(l, str) and l.startswith(("https://", "http://")) for l in meta.get("links") or []):
        return f"metadata of the wrong shape (links must be http(s) URLs: {meta.get('links')!r})"
    for item in meta.get("expect") or []:
        status = item.get("status") if isinstance(item, dict) else None
        if not (isinstance(status, str) or (isinstance(status, list) and all(isinstance(x, str) for x in status))):
            return f"metadata of the wrong shape (expect: {item!r})"
    return None


def case_entry(case: dict) -> dict:
    """A catalogue entry the templates can trust: a broken case keeps its error, a malformed one gets one."""
    meta = case.get("meta")
    error = case.get("error")
    # a case's file as its package and name: older catalogues wrote the machine's whole path
    case = {**case, "file": "/".join(Path(str(case.get("file") or f"cases/{case['id']}.py")).parts[-2:])}
    if not error and meta is None:
        error = f"{case['file']}: the catalogue has no metadata for this case"
    elif not error and meta_problem(meta):
        error = f"{case['file']}: {meta_problem(meta)}"
    if error:
        return {"id": case["id"], "file": case.get("file"), "error": str(error), "meta": {}, "variants": [],
                "variant_sources": {}, "source": case.get("source") or "", "case_hash": case.get("case_hash")}
    return {**case, "error": None, "meta": meta, "variants": list(case.get("variants") or []),
            "variant_sources": case.get("variant_sources") or {}, "source": case.get("source") or ""}


def case_pages(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One context per case page: its metadata, sources, its matrix rows and one reproduction per kind of failure."""
    pages = {}
    for case in context["cases"]:
        rows = [r for r in context["rows"] if r["case"] == case["id"]]
        wanted = {c["detail"] for r in rows for c in r["cells"] if c}
        details = [d for d in context["details"] if d["id"] in wanted]
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


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees half a page, a failure keeps the old one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def render_report(out: Path, lineup: list[Entry] | None = None, case_dirs: list[Path] | None = None) -> tuple[Path, list[str]]:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=jinja2.select_autoescape(["html"]),
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["num"] = lambda value: number(value) or "–"
    results = Results(out, case_dirs if case_dirs is not None else [REPO_CASES])
    context = build_context(results, lineup or [])
    pages = {case_id: environment.get_template("case.html").render(**page, root="../")
             for case_id, page in case_pages(context).items()}
    index_html = environment.get_template("index.html").render(**context, root="")
    out.mkdir(parents=True, exist_ok=True)
    (out / "cases").mkdir(exist_ok=True)
    for case_id, html in pages.items():
        _write_atomically(out / "cases" / f"{case_id}.html", html)
    index = out / "index.html"
    _write_atomically(index, index_html)
    write_json(out / "summary.json", {"envs": context["envs"], "problems": context["problems"]})
    return index, context["problems"]
