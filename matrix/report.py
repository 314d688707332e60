"""The HTML report: a plain dict from the aggregated frames, rendered by jinja2 with autoescape.

``index.html`` is the matrix; ``cases/<id>.html`` a page per case. Both are self-contained
(inline CSS and JS, nothing fetched), so the folder opens offline or as a static site.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from matrix.aggregate import COLUMN_KEYS, current_view, load_rows, shown_columns
from matrix.claims import claim_table
from matrix.triage import triage_view
from matrix.lineup import LineupError, load_lineup
from matrix.store import ResultsError, list_runs, read_json, write_json

TEMPLATES = Path(__file__).with_name("templates")
SHORT = {"CPUExecutionProvider": "CPU", "CUDAExecutionProvider": "CUDA"}
VERSION_KEYS = ("python", "torch", "onnx", "onnxruntime", "numpy", "protobuf", "cpu", "gpu")


def _clean(value: Any) -> Any:
    """pandas' NaN/NA to None, numpy scalars to Python, so templates test plain values."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def _fmt(value: Any, unit: str = "") -> str:
    value = _clean(value)
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        text = f"{value:.2g}" if (value and (abs(value) < 0.01 or abs(value) >= 1000)) else f"{value:.3g}"
        return text + unit
    return f"{value}{unit}"


def load_catalogues(out: Path) -> tuple[dict[str, dict], list[str]]:
    """The newest catalogue entry of every case, and what could not be read."""
    cases: dict[str, dict] = {}
    problems: list[str] = []
    for run in list_runs(out):
        for path in sorted(run.path.glob("*.catalogue.json")):
            try:
                data = read_json(path)
            except ResultsError as exc:
                problems.append(str(exc))
                continue
            if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
                problems.append(f"{path}: not a catalogue, skipped")
                continue
            for case in data["cases"]:
                if isinstance(case, dict) and "id" in case:
                    cases[case["id"]] = case
    return cases, problems


def lineup_pins() -> dict[str, dict]:
    try:
        return {e.id: {"pins": list(e.pins), "python": e.python, "note": e.note} for e in load_lineup()}
    except LineupError:
        return {}


def reproduction(row: dict, case: dict | None, pins: dict | None) -> str:
    """A copy-paste script that redoes this cell by hand: the pins, the case, the export, the runtime."""
    python = (pins or {}).get("python") or ".".join((row.get("python") or "3").split(".")[:2])
    packages = (pins or {}).get("pins") or [f"{k}=={row[k]}" for k in ("torch", "onnx", "onnxruntime", "numpy",
                                                                          "protobuf") if row.get(k)]
    case_file = Path(case["file"]) if case and case.get("file") else Path("cases") / f"{row['case']}.py"
    builder = "build" if row["variant"] == "default" else f"build_{row['variant']}"
    kwargs = "".join(f", {k}={row[k]}" for k in ("keep_initializers_as_inputs", "do_constant_folding")
                     if row.get(k) is not None)
    if row.get("dynamic_axes"):
        kwargs += ", dynamic_axes={n: {0: 'batch'} for n in names + ['output_0']}"
    if row["exporter"] == "dynamo":
        kwargs += ", dynamo=True"
    elif not (row.get("torch") or "1").startswith("1."):
        kwargs += ", dynamo=False"
    feed = "{n: x.numpy() for n, x in zip(names, inputs)}"
    run = {
        "onnxruntime": ["import onnxruntime",
                        f"session = onnxruntime.InferenceSession('model.onnx', providers=['{row['provider']}'])",
                        f"print(session.run(None, {feed}))"],
        "caffe2": ["import caffe2.python.onnx.backend as backend",
                   "print(backend.prepare(onnx.load('model.onnx'), device='CPU').run([x.numpy() for x in inputs]))"],
        "reference": ["from onnx.reference import ReferenceEvaluator",
                      f"print(ReferenceEvaluator('model.onnx').run(None, {feed}))"],
    }.get(row["runtime"], [])
    return "\n".join([
        f"uv venv --python {python} repro",
        f"uv pip install --python repro/bin/python {' '.join(packages)}",
        f"PYTHONPATH={case_file.parent.parent} repro/bin/python - <<'EOF'",
        "import onnx  # before torch: torch 1.4's checker segfaults otherwise",
        "import torch",
        f"from {case_file.parent.name}.{case_file.stem} import {builder}",
        f"module, inputs = {builder}()",
        "module.eval()",
        "inputs = inputs if isinstance(inputs, tuple) else (inputs,)",
        "names = ['input_%d' % i for i in range(len(inputs))]",
        f"torch.onnx.export(module, inputs, 'model.onnx', opset_version={row['opset_requested']}, "
        f"input_names=names, output_names=['output_0']{kwargs})",
        *run,
        "EOF",
    ])


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
    if row.get("max_abs_err") is not None and row["status"] in ("pass", "diverge", "batch-fail"):
        parts.append("Δ" + _fmt(row["max_abs_err"]))
    if row.get("latency_ms") is not None:
        parts.append(_fmt(row["latency_ms"], "ms"))
    return " · ".join(parts)


def _group_hidden(hidden: pd.DataFrame) -> list[dict]:
    """Skipped columns grouped by environment and reason: a few lines instead of one per column."""
    groups: dict[tuple, list[str]] = {}
    for h in hidden.to_dict("records"):
        label = f"{h['exporter']} opset {h['opset_requested']} {h['runtime']}/{SHORT.get(h['provider'], h['provider'])}"
        groups.setdefault((h["env_id"], _clean(h["reason"]) or "skipped"), []).append(label)
    return [{"env_id": env, "reason": reason, "columns": cols} for (env, reason), cols in groups.items()]


def build_context(out: Path) -> tuple[dict[str, Any], list[str]]:
    frame, problems = load_rows(out)
    catalogue, more = load_catalogues(out)
    problems += more
    view = current_view(frame)
    shown, hidden = shown_columns(view)
    pins = lineup_pins()
    rank = {env_id: i for i, env_id in enumerate(pins)}  # lineup order: oldest torch first
    env_key = lambda env_id: (rank.get(env_id, len(rank)), env_id)
    columns = [_column_label({k: _clean(v) for k, v in c.items()}) for c in shown.to_dict("records")]
    columns.sort(key=lambda c: (env_key(c["env_id"]), c["exporter"], c["opset_requested"], c["runtime_env"] or "",
                                c["runtime"], c["provider"]))
    index = {tuple(c[k] for k in COLUMN_KEYS): i for i, c in enumerate(columns)}
    rows: dict[tuple, dict] = {}
    details = []
    for record in view.to_dict("records"):
        record = {k: _clean(v) for k, v in record.items()}
        position = index.get(tuple(record[k] for k in COLUMN_KEYS))
        if position is None:
            continue
        key = (record["case"], record["variant"], record["options"])
        line = rows.setdefault(key, {"case": record["case"], "variant": record["variant"],
                                     "options": record["options"], "cells": [None] * len(columns),
                                     "title": (catalogue.get(record["case"], {}).get("meta") or {}).get("title", "")})
        detail_id = f"d{len(details)}"
        details.append({"id": detail_id, "row": record,
                        "versions": {k: record.get(k) for k in VERSION_KEYS},
                        "repro": reproduction(record, catalogue.get(record["case"]), pins.get(record["env_id"]))
                        if record["status"] not in ("pass", "skip") else None})
        line["cells"][position] = {"status": record["status"], "verdict": record.get("verdict"),
                                   "summary": cell_summary(record), "detail": detail_id}
    env_ids = sorted(set(view["env_id"]), key=env_key) if not view.empty else []
    env_rows = []
    for env_id in env_ids:
        sub = view[(view["env_id"] == env_id) & (view["runtime_env"] == "")]
        env_rows.append({"id": env_id, "versions": {k: _clean(sub.iloc[-1].get(k)) for k in VERSION_KEYS},
                         "note": pins.get(env_id, {}).get("note", ""), "cells": len(sub),
                         "statuses": sub["status"].value_counts().to_dict(),
                         "verdicts": sub["verdict"].value_counts().to_dict(),
                         "run_id": sub["run_id"].max()})
    context = {
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "columns": columns,
        "headers": [_header_spans(columns, d) for d in range(3)],
        "rows": [rows[k] for k in sorted(rows)],
        "details": details,
        "hidden": _group_hidden(hidden),
        "envs": env_rows,
        "cases": [catalogue[c] for c in sorted(catalogue)],
        "claims": claim_table(view, catalogue, env_ids) if not view.empty else [],
        "unexpected": triage_view(view),
        "env_ids": env_ids,
        "problems": problems,
    }
    return context, problems


def case_pages(context: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One context per case page: its metadata, sources, and the matrix rows that are its own."""
    pages = {}
    for case in context["cases"]:
        rows = [r for r in context["rows"] if r["case"] == case["id"]]
        wanted = {c["detail"] for r in rows for c in r["cells"] if c}
        details = [d for d in context["details"] if d["id"] in wanted]
        failing, seen = [], set()
        for detail in details:  # one reproduction per kind of failure, not one per opset and provider
            row = detail["row"]
            kind = (row["env_id"], row["variant"], row["options"], row["exporter"], row["runtime"],
                    row.get("runtime_env"), row["status"])
            if detail["repro"] and kind not in seen:
                seen.add(kind)
                failing.append(detail)
        pages[case["id"]] = {**context, "case": case, "rows": rows, "details": details, "failing": failing}
    return pages


def render_report(out: Path) -> tuple[Path, list[str]]:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=jinja2.select_autoescape(["html"]),
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["num"] = lambda value: _fmt(value) or "–"
    context, problems = build_context(out)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(environment.get_template("index.html").render(**context, root=""), encoding="utf-8")
    (out / "cases").mkdir(exist_ok=True)
    for case_id, page in case_pages(context).items():
        (out / "cases" / f"{case_id}.html").write_text(
            environment.get_template("case.html").render(**page, root="../"), encoding="utf-8")
    write_json(out / "summary.json", {"envs": context["envs"], "problems": problems})
    return index, problems
