"""The operators' pages: ``operators.html`` (every op of the frozen OpInfo corpus × release, caniuse-style, on
TorchScript and onnxruntime's CPU provider) and ``ops/<op>.html`` (every dtype, exporter and runtime of one op,
since which release and opset it works, and what fails where it does not), from ``results/ops``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from matrix.views.optable import DTYPES, cell_words, op_view, since, works_from
from matrix.views.site import paths, tables
from matrix.views.site.render import Pages, clean
from matrix.wire.versions import version_key

HEADLINE = ("torchscript", "onnxruntime CPU")  # what the overview's cells say; an op's page says every one


def _order(dtype: Any) -> int:
    return DTYPES.index(dtype) if dtype in DTYPES else len(DTYPES)


def _release_cell(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One op in one release (headline exporter and runtime), over its dtypes: dtypes that agree share words."""
    said: dict[str, list[str]] = {}
    kinds = []
    for entry in sorted(entries, key=lambda e: _order(e["dtype"])):
        kind, words = cell_words(entry)
        kinds.append(kind)
        said.setdefault(words, []).append(str(entry["dtype"]))
    text = " · ".join(words if len(said) == 1 else f"{words} {', '.join(d)}" for words, d in said.items())
    kind = "all" if set(kinds) <= {"all"} else ("none" if set(kinds) <= {"none"} else
                                                 ("skip" if set(kinds) <= {"skip", "unmeasured"} else "some"))
    errors = [f"{e['dtype']}: {e['worst']} at opset {int(e['worst_opset'])}: {e['worst_error']}" for e in entries
              if not pd.isna(e.get("worst")) and e["worst"] != "pass" and isinstance(e.get("worst_error"), str)]
    skips = sorted({str(e["skip_reason"]) for e in entries if isinstance(e.get("skip_reason"), str)})
    return {"kind": kind, "text": text or "·", "title": "; ".join(errors + skips)[:600]}


def _since_words(rows: pd.DataFrame, exporter: str) -> str:
    mine = rows[(rows["exporter"] == exporter) & (rows["runtime_name"] == HEADLINE[1]) & rows["ran"]]
    if mine.empty:  # every release skipped it: none has the function, or none could compute the sample
        return f"{exporter}: not measured"
    working = mine[mine["since"].notna()]
    if working.empty:
        return f"{exporter}: never"
    first = min(working["since"], key=lambda e: version_key(e.replace("torch-", "")))
    low = int(working[working["since"] == first]["since_opset"].min())
    dtypes = len(working), len(mine)
    return f"{exporter}: from {first.replace('-', ' ')}, opset ≥ {low}" + (
        f" ({dtypes[0]} of {dtypes[1]} dtypes)" if dtypes[0] != dtypes[1] else "")


def op_contexts(results: Path, releases: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The index's context and each op page's, keyed by op name."""
    view, catalogue = op_view(results)
    if view.empty:
        return {"ops": [], "envs": [], "headline": HEADLINE}, {}
    present = set(view["env_id"])
    envs = [e for e in releases if e in present] + sorted(present - set(releases), key=str)
    table = works_from(view)
    table["_at"] = table["env_id"].map({e: i for i, e in enumerate(envs)})
    sinces = since(table, envs)
    records = {key: group.to_dict("records") for key, group in table.groupby(["op", "exporter", "runtime_name"])}
    index, pages = [], {}
    for op, rows in sinces.groupby("op"):
        headline = records.get((op, *HEADLINE), [])
        cells = [_release_cell([e for e in headline if e["env_id"] == env]) for env in envs]
        words = " · ".join(_since_words(rows, exporter) for exporter in ("torchscript", "dynamo")
                           if exporter in set(rows["exporter"]))
        index.append({"op": op, "href": paths.href(paths.op_page(op)), "since": words, "envs": cells})
        pages[op] = _op_page(op, view, table, rows, envs, catalogue, words)
    return {"ops": index, "envs": envs, "headline": HEADLINE}, pages


def _op_page(op: str, view: pd.DataFrame, table: pd.DataFrame, rows: pd.DataFrame, envs: list[str],
             catalogue: dict[str, dict[str, Any]], words: str) -> dict[str, Any]:
    mine = table[table["op"] == op]
    lines = []
    for (exporter, runtime, dtype), group in sorted(mine.groupby(["exporter", "runtime_name", "dtype"]),
                                                    key=lambda item: (item[0][0], item[0][1], _order(item[0][2]))):
        by_env = {e["env_id"]: e for e in group.to_dict("records")}
        found = rows[(rows["exporter"] == exporter) & (rows["runtime_name"] == runtime) & (rows["dtype"] == dtype)]
        first = found.iloc[0] if len(found) else None
        since_text = ("never" if first is None or pd.isna(first["since"]) else
                      f"from {first['since']}, opset ≥ {int(first['since_opset'])}")
        cells = []
        for env in envs:
            kind, text = cell_words(by_env.get(env))
            entry = by_env.get(env) or {}
            title = entry.get("worst_error") if isinstance(entry.get("worst_error"), str) else entry.get("skip_reason")
            cells.append({"kind": kind, "text": text, "title": clean(title) or ""})
        lines.append({"exporter": exporter, "runtime": runtime, "dtype": dtype, "since": since_text, "envs": cells})
    failing = view[(view["op"] == op) & ~view["status"].isin(["pass", "skip"])]
    errors = [{"env_id": r["env_id"], "exporter": r["exporter"], "runtime": r["runtime_name"], "dtype": r["dtype"],
               "opset": clean(r["opset"]), "status": r["status"], "error": clean(r["error"]) or "", "cell": r["cell"]}
              for r in failing.sort_values(["env_id", "exporter", "dtype", "opset"]).drop_duplicates(
                  ["env_id", "exporter", "runtime_name", "dtype", "status", "error"]).to_dict("records")]
    case_ids = sorted({c for c in view.loc[view["op"] == op, "case"]})
    samples = [{"case": c, "source": (catalogue.get(c) or {}).get("source") or ""} for c in case_ids]
    return {"op": op, "since": words, "lines": lines, "envs": envs, "errors": errors[:200],
            "errors_left_out": max(0, len(errors) - 200), "samples": samples}


def write_operators(results: Path, releases: list[str], pages: Pages, downloads: tables.Downloads,
                    common: dict[str, Any]) -> int:
    """Render the operators' pages (the index says so when ``results`` holds no op rows); returns how many ops
    they show."""
    index, ops = op_contexts(results, releases) if (results / "runs").is_dir() else ({"ops": [], "envs": []}, {})
    index.setdefault("headline", HEADLINE)
    rows = [{"op": o["op"], "since": o["since"], **{e: c["text"] for e, c in zip(index["envs"], o["envs"])}}
            for o in index["ops"]]
    links = downloads.table("operators.html", rows, title="operators: since when each works")
    pages.render("operators.html", "ops.html", **common, **index, downloads=links)
    for op, context in ops.items():
        page = paths.op_page(op)
        links = downloads.table(page, [{k: v for k, v in line.items() if k != "envs"} | {
            e: c["text"] for e, c in zip(context["envs"], line["envs"])} for line in context["lines"]],
            title=f"{op}: every dtype, exporter and runtime")
        pages.render(page, "op.html", **common, **context, downloads=links)
    return len(ops)

