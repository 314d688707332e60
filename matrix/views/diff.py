"""What changed between two environments (a torch release and the next): cells that broke, got fixed,
or fail differently.

    python -m matrix diff torch-2.13.0 torch-2.15.0 [--out results]

A cell is compared across environments by everything but the environment: case, variant,
exporter, the opset of its file (``opsets.cells``: dynamo's "opset 9" and "opset 18" rows are one
file, one cell), export options, runtime and provider (each environment's own runtimes; replays
are left out). The page a maintainer reads when a release lands; the site shows one per pair of
neighbouring releases.
"""
from __future__ import annotations

import pandas as pd

from matrix.views.labels import error_signature, runtime_label
from matrix.views.opsets import OPSET, cells
from matrix.wire import Status

KEY = ["case", "variant", "exporter", OPSET, "options", "runtime", "provider"]
CHANGES = ("broke", "fixed", "fails differently")


def release_diff(view: pd.DataFrame, before: str, after: str) -> pd.DataFrame:
    """One line per cell whose outcome differs from ``before`` to ``after`` (a current view, see aggregate).

    Columns: change (broke, fixed, fails differently), the cell key, status and error on each side.
    """
    columns = ["change", *KEY, "opset_requested", "opset_label", "status_before", "status_after", "error_before",
               "error_after"]  # opset_requested: the request the shown row answered (the interface had it first)
    view = view if OPSET in view else cells(view)
    native = view[(view["runtime_env"].fillna("") == "") & (view["status"] != Status.SKIP.value)]
    a = native[native["env_id"] == before][KEY + ["status", "error"]]
    b = native[native["env_id"] == after][KEY + ["opset_requested", "opset_label", "status", "error"]]
    if a.empty or b.empty:
        return pd.DataFrame(columns=columns)
    both = a.merge(b, on=KEY, suffixes=("_before", "_after"))
    passed = Status.PASS.value
    change = pd.Series("", index=both.index)
    change[(both["status_before"] == passed) & (both["status_after"] != passed)] = "broke"
    change[(both["status_before"] != passed) & (both["status_after"] == passed)] = "fixed"
    failing = (both["status_before"] != passed) & (both["status_after"] != passed)
    different = (both["status_before"] != both["status_after"]) | (
        both["error_before"].map(error_signature) != both["error_after"].map(error_signature))
    change[failing & different] = "fails differently"
    both = both.assign(change=change)[change != ""]
    order = {name: i for i, name in enumerate(CHANGES)}
    both = both.sort_values(["change", "case", "variant", "exporter", OPSET, "runtime"],
                            key=lambda c: c.map(order) if c.name == "change" else c)
    return both[columns].reset_index(drop=True)


def summaries(frame: pd.DataFrame) -> dict[str, list[dict[str, object]]]:
    """Per exporter and per runtime, how many cells broke, got fixed or fail differently (a release diff's)."""
    if frame.empty:
        return {"exporter": [], "runtime": []}
    named = frame.assign(runtime_name=[runtime_label(r, p) for r, p in zip(frame["runtime"], frame["provider"])])
    found = {}
    for axis, column in (("exporter", "exporter"), ("runtime", "runtime_name")):
        table = named.groupby([column, "change"]).size().unstack(fill_value=0)
        found[axis] = [{"name": str(name), **{c: int(line.get(c, 0)) for c in CHANGES}}
                       for name, line in table.iterrows()]
    return found


def summary_text(frame: pd.DataFrame) -> list[str]:
    """``dynamo: 6 broke, 0 fixed, 0 fails differently`` per exporter, then per runtime."""
    return [f"{item['name']}: " + ", ".join(f"{item[c]} {c}" for c in CHANGES)
            for axis in summaries(frame).values() for item in axis]


def print_diff(frame: pd.DataFrame, before: str, after: str) -> None:
    counts = frame["change"].value_counts().to_dict()
    print(f"{before} -> {after}: " + ", ".join(f"{counts.get(c, 0)} {c}" for c in CHANGES)
          + " (cells: one per exported file and runtime)")
    for line in summary_text(frame):
        print(f"  {line}")
    for row in frame.itertuples():
        where = f"{row.case}/{row.variant} {row.exporter} {row.opset_label} {row.runtime}"
        if row.options:
            where += f" ({row.options})"
        print(f"  {row.change.upper():<17} {where}: {row.status_before} -> {row.status_after}")
        error = str(row.error_after if row.change != "fixed" else row.error_before or "").strip().split("\n")[0]
        if error:
            print(f"      {error[:160]}")
