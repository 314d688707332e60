"""Latencies a person can trust at a glance: noise (p90 over median) and outliers across releases.

A cell's latency is flagged noisy when its p90 is ``NOISY`` times its median (the machine was busy, or the
first runs paid for a warm-up), and an outlier when its median is ``OUTLIER`` times the median of the same
cell (case, variant, exporter, opset, options, runtime) over every release that timed it: eager
``basic_export`` at 64 ms in one release and 0.054 ms in the next is the machine, not torch. Both are
computed once from the current view and read by the environment pages and the plots.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from matrix.views.values import clean, duration

NOISY = 3.0     # p90 / median: past this a median is not a measurement to compare
OUTLIER = 10.0  # median / the same cell's median over releases
SAME_CELL = ["case", "variant", "exporter", "opset_requested", "runtime", "provider", "options"]
TIMINGS = (("latency_ms", "latency_p90_ms", "runtime"), ("eager_ms", "eager_p90_ms", "eager torch"))


def typical(view: pd.DataFrame) -> dict[tuple, dict[str, float]]:
    """(env-free cell key) -> {column: median over releases} for the environments' own timed cells."""
    native = view[view["runtime_env"] == ""] if "runtime_env" in view else view
    keys = [k for k in SAME_CELL if k in native]
    out: dict[tuple, dict[str, float]] = {}
    for column, _, _ in TIMINGS:
        if column not in native:
            continue
        timed = native[pd.to_numeric(native[column], errors="coerce").notna()]
        if timed.empty:
            continue
        per_env = timed.assign(**{column: pd.to_numeric(timed[column])}).fillna({k: "" for k in keys})
        medians = per_env.groupby(keys + ["env_id"], dropna=False)[column].median().groupby(level=keys).median()
        for key, value in medians.items():
            out.setdefault(key if isinstance(key, tuple) else (key,), {})[column] = float(value)
    return out


def flags(row: dict[str, Any], usual: dict[tuple, dict[str, float]]) -> list[str]:
    """What is odd about a row's timings, in words ("eager torch 64 ms is 1200× its median over releases")."""
    key = tuple("" if row.get(k) is None else row.get(k) for k in SAME_CELL)
    notes = []
    for column, p90_column, label in TIMINGS:
        median, p90 = clean(row.get(column)), clean(row.get(p90_column))
        if not isinstance(median, (int, float)) or median <= 0:
            continue
        if isinstance(p90, (int, float)) and p90 / median >= NOISY:
            notes.append(f"{label} noisy: p90 {duration(p90)} is {p90 / median:.0f}× the median")
        other = usual.get(key, {}).get(column)
        if other and median / other >= OUTLIER:
            notes.append(f"{label} {duration(median)} is {median / other:.0f}× its median over releases "
                         f"({duration(other)}): an outlier, measure it again")
    return notes
