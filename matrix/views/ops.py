"""Look-ups in the operator corpus's results: since which opset an op works, per release, exporter, runtime
and dtype, and the error where it does not (``python -m matrix ops query``; no environment needed)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from matrix.views.labels import PASS
from matrix.views.optable import DTYPES, op_view
from matrix.wire.versions import version_key

KEYS = ["torch", "exporter", "runtime"]


def _error(row: pd.Series) -> str:
    """A failure's status and the first line of its error, short enough for one line of a terminal."""
    first = str(row["error"] or "").strip().splitlines()
    return f"{row['status']}: {first[0][:140] if first else '(no error recorded)'}"


def op_rows(results: Path, op: str) -> pd.DataFrame:
    """The current cells of ``op``'s cases (every dtype), with the dtype and the opset of the file."""
    view, _ = op_view(results)
    return view[view["op"] == op].copy()


def _matches(value: object, prefix: str | None) -> bool:
    text = str(value).split("+")[0]  # 2.6.0+cu124 is torch 2.6.0
    return prefix is None or text == prefix or text.startswith(prefix.rstrip(".") + ".")


def summary(group: pd.DataFrame) -> str:
    """``works from opset 11 (9: export-fail: ...)``, ``fails: ...``, ``works at opset 18``."""
    passing = sorted(int(o) for o in group.loc[group["status"] == PASS, "opset"].dropna().unique())
    failing = group[group["status"] != PASS].sort_values("opset")
    if not passing:
        first = failing.iloc[0]
        return f"fails: {_error(first)}"
    below = failing[failing["opset"] < passing[0]]
    above = failing[failing["opset"] > passing[0]]
    text = f"works from opset {passing[0]}" if len(passing) > 1 or not below.empty else f"works at opset {passing[0]}"
    notes = [f"opset {int(r['opset'])}: {_error(r)}"
             for _, r in pd.concat([below.head(1), above]).iterrows()]
    return text + (" (" + "; ".join(notes) + ")" if notes else "")


def answer(results: Path, op: str, torch: str | None = None, opset: int | None = None,
           runtime: str | None = None, exporter: str | None = None) -> tuple[str, bool]:
    """The query's answer as text, and whether any row matched."""
    view = op_rows(results, op)
    view = view[view["torch"].map(lambda v: _matches(v, torch)) & view["runtime_env"].eq("")]
    if opset is not None:
        view = view[view["opset"] == opset]
    for column, wanted in (("runtime", runtime), ("exporter", exporter)):
        if wanted:
            view = view[view[column] == wanted]
    if view.empty:
        return f"no results for op {op!r} with these filters in {results}", False
    view["torch"] = view["torch"].map(lambda v: str(v).split("+")[0])
    lines = []
    for key, group in sorted(view.groupby(KEYS, dropna=False), key=lambda item: (version_key(str(item[0][0])),
                                                                                   *map(str, item[0][1:]))):
        said: dict[str, list[str]] = {}  # the dtypes that share an answer share a line
        for dtype, cells in sorted(group.groupby("dtype"), key=lambda item: DTYPES.index(item[0])
                                   if item[0] in DTYPES else len(DTYPES)):
            said.setdefault(summary(cells), []).append(str(dtype))
        for text, dtypes in said.items():
            lines.append("torch {:<8} {:<11} {:<11} {:<34} {}".format(*map(str, key), ", ".join(dtypes), text))
    return "\n".join([f"{op}: {len(view)} cells in {results}", *lines]), True
