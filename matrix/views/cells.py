"""What a case and a cell look like on a page, shared by the report and the site: a cell's short summary,
and a catalogue entry the templates can trust (a broken or malformed case keeps or gets its error)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from matrix.views.labels import Status
from matrix.views.values import duration, number


def cell_summary(row: dict) -> str:
    parts = []
    error = row.get("error") or ""
    if row["status"] == Status.DIVERGE.value and ("has shape" in error or "outputs, eager PyTorch gives" in error):
        parts.append("shape" if "has shape" in error else "outputs")  # a wrong shape has no error to show
    elif row.get("max_abs_err") is not None and row["status"] in (Status.PASS.value, Status.DIVERGE.value, Status.BATCH_FAIL.value):
        parts.append("Δ" + number(row["max_abs_err"]))
    if row.get("latency_ms") is not None:
        parts.append(duration(row["latency_ms"]))
    return " · ".join(parts)


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
