"""Values out of pandas frames as templates and people read them: plain Python, numbers to three digits."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd


def clean(value: Any) -> Any:
    """pandas' NaN/NA to None, numpy scalars to Python: what templates and JSON can hold."""
    if value is None or isinstance(value, (list, tuple, dict, str, bool)):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


def number(value: Any, unit: str = "") -> str:
    """A measurement as a person reads it: three significant digits, "" when there is none."""
    value = clean(value)
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        text = f"{value:.2g}" if (value and (abs(value) < 0.01 or abs(value) >= 1000)) else f"{value:.3g}"
        return text + unit
    return f"{value}{unit}"


def duration(ms: Any) -> str:
    """A latency in milliseconds in the unit a person reads it in: "4.2 µs", "64 ms", "1.3 s"; "" for none."""
    ms = clean(ms)
    if ms == 0:
        return "0"
    if not isinstance(ms, (int, float)) or isinstance(ms, bool) or math.isnan(ms) or math.isinf(ms):
        return "" if ms is None else str(ms)
    for scale, unit in ((1e-3, "ns"), (1.0, "µs"), (1e3, "ms")):
        if abs(ms) < scale:
            return f"{ms * 1e3 / scale:.2g} {unit}" if abs(ms) * 1e3 / scale < 10 else f"{ms * 1e3 / scale:.0f} {unit}"
    return f"{ms / 1e3:.2g} s" if ms < 1e4 else f"{ms / 1e3:.0f} s"
