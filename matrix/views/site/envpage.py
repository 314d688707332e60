"""One environment's page: its detailed matrix, the details of every cell, what could not run there.

Rows are case x variant x export options; columns exporter x opset x runtime (the environment's
own runtimes, then the replays ``@<env>``: its files run by the newest environment's runtimes).
The table is rendered by the template; the details a click shows travel as one JSON blob with a
string table (see ``strings``), which the page's script puts into a panel the template laid out.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from matrix.results.read import without_colours
from matrix.views.cells import cell_summary
from matrix.views.frames import COLUMN_KEYS, shown_columns
from matrix.views.gpu import side_by_side
from matrix.views.labels import STATUS_ORDER, runtime_label
from matrix.views.opsets import COUNTED, COUNTED_NOTE, WITH_REPLAYS, not_measured, requested_ignored
from matrix.views.site import numbers, paths
from matrix.views.site.exports import onnx_link
from matrix.views.site.load import SiteData
from matrix.views.site.render import clean, number
from matrix.views.site.repros import Repros
from matrix.views.site.strings import Strings
from matrix.views.values import duration
from matrix.wire import VERSION_FIELDS


def _columns(shown: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [{k: clean(v) for k, v in c.items()} for c in shown.to_dict("records")]
    for column in columns:
        column["runtime_env"] = column.get("runtime_env") or ""
        column["runtime_label"] = runtime_label(column["runtime"], column["provider"])
    columns.sort(key=lambda c: (c["runtime_env"], str(c["exporter"]), c["opset"] or 0,
                                str(c["runtime"]), str(c["provider"])))
    return columns


def _hidden(hidden: pd.DataFrame) -> list[dict[str, Any]]:
    """Columns not applicable here, grouped by reason: a few lines instead of one per column."""
    groups: dict[str, list[str]] = {}
    for column in hidden.to_dict("records"):
        column = {k: clean(v) for k, v in column.items()}
        where = f"{column['exporter']} opset {column['opset']} {runtime_label(column['runtime'], column['provider'])}"
        if column.get("runtime_env"):
            where += f" @{column['runtime_env']}"
        groups.setdefault(column.get("reason") or "skipped", []).append(where)
    return [{"reason": reason, "columns": columns} for reason, columns in groups.items()]


def _facts(row: dict[str, Any], usual: dict[tuple, dict[str, float]]) -> list[tuple[str, str]]:
    """What the panel lists about a cell, as (label, text), in the order a person asks."""
    dash = lambda value: "–" if value is None or value == "" else str(value)
    ms = lambda key: duration(row.get(key)) or "–"
    verdict = dash(row.get("verdict"))
    if row.get("expected_status"):
        reason = f": {row['expectation_reason']}" if row.get("expectation_reason") else ""
        verdict += f" (expected {row['expected_status']}{reason})"
    runtime = f"{row.get('runtime')} {row.get('runtime_version') or ''} / {row.get('provider')}"
    if row.get("runtime_env"):
        runtime += f" (in {row['runtime_env']})"
    facts = [
        ("verdict", verdict),
        ("stage", dash(row.get("stage"))),
        ("environment", f"{row.get('env_id')} (run {dash(row.get('run_id'))})"),
        ("exporter", (f"{row.get('exporter')}, {row.get('opset_label') or 'opset ?'} (this row: requested "
                      f"{dash(row.get('opset_requested'))}, produced {dash(row.get('opset_actual'))}"
                      + (f"; one cell for {row['merged']} rows" if (row.get("merged") or 1) > 1 else "")
                      + (f", {row['files']} different files of that opset" if (row.get("files") or 0) > 1 else "")
                      + ")")),
        ("runtime", runtime),
        ("options", row.get("options") or "defaults"),
        ("checker", "–" if row.get("checker_ok") is None else
                    ("ok" if row.get("checker_ok") else f"rejected: {row.get('checker_error')}")),
        ("nodes", dash(row.get("node_count"))),
        ("max abs / rel error", (f"{number(row.get('max_abs_err')) or '–'} / {number(row.get('max_rel_err')) or '–'} "
                                 f"(atol {dash(row.get('atol'))}, rtol {dash(row.get('rtol'))}; smallest passing atol "
                                 f"{number(row.get('min_passing_atol')) or '–'})")),
        ("batch sizes", dash(row.get("batch_sizes"))),
        ("latency", (f"median {ms('latency_ms')}, p90 {ms('latency_p90_ms')}; "
                     f"eager torch median {ms('eager_ms')}, p90 {ms('eager_p90_ms')}")),
    ]
    facts.extend(("latency check", note) for note in numbers.flags(row, usual))
    if row.get("latency_method") == "io-binding":
        facts.append(("latency taken", "inputs and outputs bound on the GPU, the device synchronised after each run"))
    if row.get("gpu_node_share") is not None:
        source = f" (from onnxruntime's {row['placement_source']})" if row.get("placement_source") else ""
        facts.append(("GPU node share", f"{number(row['gpu_node_share'])}{source}"))
    if isinstance(row.get("cpu_nodes"), list) and row["cpu_nodes"]:
        facts.append(("nodes left on the CPU", ", ".join(str(n) for n in row["cpu_nodes"])))
    if row.get("attempts"):
        retry_error = f" ({row['retry_error']})" if row.get("retry_error") else ""
        facts.append(("second run", f"in a fresh worker: {dash(row.get('retry_status'))}{retry_error}"))
    if row.get("state_changed"):
        facts.append(("process changed", row["state_changed"]))
    if row.get("reused_from"):
        facts.append(("carried over from", row["reused_from"]))
    facts.append(("cell", (f"{row.get('cell')} · case hash {dash(row.get('case_hash'))} · "
                           f"{number(row.get('duration_s'), ' s') or '–'}")))
    facts.extend((key, dash(row.get(key))) for key in VERSION_FIELDS)
    if row.get("runtime_env"):
        facts.append(("runtime's onnx / onnxruntime",
                      f"{dash(row.get('runtime_onnx'))} / {dash(row.get('runtime_onnxruntime'))}"))
    return facts


def _column_key(item: dict[str, Any]) -> tuple:
    """Where a row or a column sits: its column keys, "" for the environment's own runtime."""
    return tuple((item.get(k) or "") if k == "runtime_env" else item.get(k) for k in COLUMN_KEYS)


def _requested(sub: pd.DataFrame) -> dict[tuple, str]:
    """Per column, the opsets its cells' rows asked for, where that is not just the files' own opset."""
    asked: dict[tuple, set[int]] = {}
    for row in sub.to_dict("records"):
        opsets = {int(n) for n in str(row.get("requested") or "").split(", ") if n.isdigit()}
        asked.setdefault(_column_key({k: clean(v) for k, v in row.items()}), set()).update(opsets)
    return {k: ", ".join(map(str, sorted(v))) for k, v in asked.items() if len(v) > 1}


def _detail(row: dict[str, Any], strings: Strings, names: dict[str, set[str]], repros: Repros,
            usual: dict[tuple, dict[str, float]]) -> dict[str, Any]:
    replayed = f" @{row['runtime_env']}" if row.get("runtime_env") else ""
    title = (f"{row.get('case')} / {row.get('variant')} · {row.get('exporter')} {row.get('opset_label') or 'opset ?'} · "
             f"{runtime_label(row.get('runtime'), row.get('provider'))}{replayed}")
    detail = {"t": strings(title), "s": row.get("status"),
              "f": [[strings(label), strings(without_colours(text))] for label, text in _facts(row, usual)],
              "e": strings(without_colours(row.get("error"))), "k": row.get("cell"), "et": strings(row.get("error_type")),
              "x": strings(row.get("export_call")), "r": strings(row.get("runtime_call")),
              "o": onnx_link(row, names)}
    if detail["o"]:  # the environment's folder of files is the page's, once: each cell names its file
        detail["o"] = detail["o"].rsplit("/", 1)[-1]
    if row.get("stale"):
        detail["stale"] = 1
    repro = repros.for_row(row)
    if repro:
        detail["p"] = repro.get("path")
        detail["c"] = strings(repro.get("setup"))
        detail["cr"] = strings(repro.get("run"))
        detail["n"] = strings(repro.get("note") or repro.get("problem"))
        detail["m"] = strings(f"python3 -m matrix repro '{row.get('cell')}' --env {row.get('env_id')}")
    return {k: v for k, v in detail.items() if v is not None}


def env_context(data: SiteData, env_id: str, names: dict[str, set[str]], repros: Repros) -> dict[str, Any]:
    sub = data.view[data.view["env_id"] == env_id]
    skips = data.skips[data.skips["env_id"] == env_id] if not data.skips.empty else None
    shown, hidden = shown_columns(sub, skips)
    columns = _columns(shown)
    asked = _requested(sub)
    for column in columns:  # "requested 9, 11, 18" under a column whose files are opset 18
        column["asked"] = asked.get(_column_key(column), "")
    position = {_column_key(c): i for i, c in enumerate(columns)}
    strings = Strings()
    usual = _usual(data)
    details: list[dict[str, Any]] = []
    table: list[dict[str, Any]] = []  # the same cells as data (CSV, JSON): tables.Downloads writes them
    lines: dict[tuple, dict[str, Any]] = {}
    for record in sub.to_dict("records"):
        row = {k: clean(v) for k, v in record.items()}
        where = position.get(_column_key(row))
        if where is None:  # a column every cell of which was skipped: listed below the matrix instead
            continue
        line = lines.setdefault((str(row["case"]), str(row["variant"]), row.get("options") or ""),
                                {"case": str(row["case"]), "variant": str(row["variant"]),
                                 "options": row.get("options") or "", "cells": [None] * len(columns)})
        line["cells"][where] = {"i": len(details), "status": row["status"], "verdict": row.get("verdict") or "",
                                "stale": bool(row.get("stale")), "summary": cell_summary(row),
                                "odd": bool(numbers.flags(row, usual))}
        details.append(_detail(row, strings, names, repros, usual))
        table.append(_download_row(row))
    rows = [lines[k] for k in sorted(lines)]
    seen_cases: set[str] = set()
    for line in rows:
        line["anchor"] = paths.anchor(line["case"]) if line["case"] not in seen_cases else None
        seen_cases.add(line["case"])
        case = data.cases.get(line["case"]) or {}
        line["title"] = (case.get("meta") or {}).get("title", "") if isinstance(case.get("meta"), dict) else ""
    counts = data.counts.get(env_id, {})
    have = sorted({int(c["opset"]) for c in columns if c.get("opset") is not None})
    shown_statuses = {d["s"] for d in details}  # the filter offers what the matrix shows
    present = [s for s in STATUS_ORDER if s in shown_statuses] + sorted(shown_statuses - set(STATUS_ORDER))
    return {
        "env_id": env_id,
        "columns": columns,
        "rows": rows,
        "hidden": _hidden(hidden),
        "statuses": present,
        "counts": counts.get("statuses", {}),
        "cell_count": counts.get("cells", 0), "passed": counts.get("passed", 0),
        "replay_count": counts.get("replays", 0), "with_replay_count": counts.get("with_replays", 0),
        "counted": COUNTED, "with_replays": WITH_REPLAYS, "counted_note": COUNTED_NOTE,
        "opsets": have, "not_measured": not_measured(have), "ignored": requested_ignored(sub),
        "exporters": sorted({str(c["exporter"]) for c in columns}),
        "opset_choices": [str(o) for o in have],
        "runtimes": sorted({c["runtime_label"] for c in columns}),
        "cases": sorted(seen_cases),
        "data": {"strings": strings.items, "cells": details, "files": paths.href(paths.files_dir(env_id)) + "/"},
        "gpu_pairs": _gpu_pairs(sub),
        "table": table,
    }


DOWNLOAD_FIELDS = ("case", "variant", "options", "exporter", "opset_requested", "opset_actual", "runtime", "provider",
                   "runtime_env", "status", "verdict", "stage", "error_type", "max_abs_err", "latency_ms",
                   "latency_p90_ms", "eager_ms", "eager_p90_ms", "cell")


def _download_row(row: dict[str, Any]) -> dict[str, Any]:
    """A cell as its row of the page's CSV/JSON: what the matrix and its details show, the error's first line."""
    error = without_colours(str(row.get("error") or "")).strip().split("\n")[0][:500]
    return {**{k: row.get(k) for k in DOWNLOAD_FIELDS}, "error": error}


def _usual(data: SiteData) -> dict[tuple, dict[str, float]]:
    """Each cell's median latency over releases, computed once per build (every environment page reads it)."""
    if getattr(data, "_usual", None) is None:
        data._usual = numbers.typical(data.view)  # type: ignore[attr-defined]
    return data._usual  # type: ignore[attr-defined]


def _gpu_pairs(sub: pd.DataFrame) -> list[dict[str, Any]]:
    """CUDA beside CPU for each file both providers ran, as the page prints it (gpu.side_by_side)."""
    pairs = []
    for record in side_by_side(sub).to_dict("records"):
        row = {k: clean(v) for k, v in record.items()}
        nodes = row.get("cpu_nodes")
        pairs.append({**row, "cuda": duration(row.get("cuda_ms")) or "–", "cpu": duration(row.get("cpu_ms")) or "–",
                      "ratio": number(row.get("speedup"), "×") or "–", "share": number(row.get("gpu_node_share")) or "–",
                      "left": ", ".join(str(n) for n in nodes) if isinstance(nodes, list) else ""})
    return pairs



