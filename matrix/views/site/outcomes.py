"""At a glance: how a set of cells went, as the overview and the case pages show it.

One summary per (case, variant, environment), or finer (per exporter): the best and the worst
outcome over every exporter, opset, option and runtime that ran there. Skipped cells are not
outcomes (the column cannot exist there) and replays are another environment's runtime, so
both are left out.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from matrix.views.labels import PASS, SKIP, rank, runtime_label

KINDS = {
    "all": "all pass",
    "some": "passes somewhere, fails somewhere",
    "none": "fails everywhere",
    "unmeasured": "not measured",
}


def _worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: (rank(s), s)) if statuses else ""


def summarise(statuses: list[str]) -> dict[str, Any]:
    """The summary of the statuses of some cells that ran: kind, label, counts, best and worst."""
    ran = [s for s in statuses if s != SKIP]
    passed = sum(1 for s in ran if s == PASS)
    if not ran:
        kind = "unmeasured"
    elif passed == len(ran):
        kind = "all"
    elif passed:
        kind = "some"
    else:
        kind = "none"
    counts = pd.Series(ran, dtype=object).value_counts().to_dict() if ran else {}
    ordered = sorted(counts.items(), key=lambda item: (rank(item[0]), item[0]))
    return {"kind": kind, "label": KINDS[kind], "passed": passed, "total": len(ran), "worst": _worst(ran),
            "counts": ", ".join(f"{n} {s}" for s, n in ordered)}


def summaries(native: pd.DataFrame, keys: list[str]) -> dict[tuple, dict[str, Any]]:
    """One summary per group of ``keys`` (e.g. case, variant, env_id) of the environments' own cells."""
    ran = native[native["status"] != SKIP]
    if ran.empty:
        return {}
    grouped = ran.groupby(keys, dropna=False, sort=False)["status"].agg(list)
    return {key if isinstance(key, tuple) else (key,): summarise(statuses) for key, statuses in grouped.items()}


UNMEASURED = summarise([])


def _lowest_working(rows: pd.DataFrame, opsets: list[int]) -> int | None:
    """The lowest opset from which every cell of ``rows`` at that opset or above passes, or None."""
    passed = rows["status"] == PASS
    return next((o for o in opsets if (rows["opset"] >= o).any() and passed[rows["opset"] >= o].all()), None)


def _exporter_words(exporter: str, rows: pd.DataFrame) -> str:
    """How one exporter did in one environment, in words: ``torchscript ✓``, ``torchscript opset ≥ 11``,
    ``torchscript opset ≥ 11 on onnxruntime CPU, OpenVINO CPU``, ``torchscript partly``, ``dynamo ✗``."""
    passed = rows["status"] == PASS
    if passed.all():
        return f"{exporter} ✓"
    if not passed.any():
        return f"{exporter} ✗"
    opsets = sorted({int(o) for o in rows["opset"].dropna()})
    names = pd.Series([runtime_label(r, p) for r, p in zip(rows["runtime"], rows["provider"])], index=rows.index)
    lowest = {name: _lowest_working(rows[names == name], opsets) for name in sorted(set(names))}
    if len(set(lowest.values())) == 1 and None not in lowest.values():
        return f"{exporter} opset ≥ {next(iter(lowest.values()))}"
    groups: dict[int, list[str]] = {}
    for name, opset in lowest.items():
        if opset is not None:
            groups.setdefault(opset, []).append(name)
    if not groups:
        return f"{exporter} partly"
    parts = [(f"opset ≥ {o} " if o != opsets[0] else "") + "on " + ", ".join(n) for o, n in sorted(groups.items())]
    return f"{exporter} " + "; ".join(parts)


def in_words(native: pd.DataFrame, keys: list[str]) -> dict[tuple, str]:
    """Per group of ``keys``, where it works in words, per exporter (cells by file opset: ``opsets.cells``)."""
    ran = native[native["status"] != SKIP]
    if ran.empty or "opset" not in ran:
        return {}
    found = {}
    for key, rows in ran.groupby(keys, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        found[key] = " · ".join(_exporter_words(str(x), sub) for x, sub in rows.groupby("exporter", sort=True))
    return found
