"""What changed between two environments (a torch release and the next): cells that broke, got fixed,
or fail differently.

    python -m matrix diff torch-2.13.0 torch-2.15.0 [--out results]

A cell is compared across environments by everything but the environment: case, variant,
exporter, opset, export options, runtime and provider (each environment's own runtimes; replays
are left out). The page a maintainer reads when a release lands; the site shows one per pair of
neighbouring releases.
"""
from __future__ import annotations

import pandas as pd

from matrix.views.labels import error_signature
from matrix.wire import Status

KEY = ["case", "variant", "exporter", "opset_requested", "options", "runtime", "provider"]
CHANGES = ("broke", "fixed", "fails differently")


def release_diff(view: pd.DataFrame, before: str, after: str) -> pd.DataFrame:
    """One line per cell whose outcome differs from ``before`` to ``after`` (a current view, see aggregate).

    Columns: change (broke, fixed, fails differently), the cell key, status and error on each side.
    """
    columns = ["change", *KEY, "status_before", "status_after", "error_before", "error_after"]
    native = view[(view["runtime_env"].fillna("") == "") & (view["status"] != Status.SKIP.value)]
    a = native[native["env_id"] == before][KEY + ["status", "error"]]
    b = native[native["env_id"] == after][KEY + ["status", "error"]]
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
    both = both.sort_values(["change", "case", "variant", "exporter", "opset_requested", "runtime"],
                            key=lambda c: c.map(order) if c.name == "change" else c)
    return both[columns].reset_index(drop=True)


def print_diff(frame: pd.DataFrame, before: str, after: str) -> None:
    counts = frame["change"].value_counts().to_dict()
    print(f"{before} -> {after}: " + ", ".join(f"{counts.get(c, 0)} {c}" for c in CHANGES))
    for row in frame.itertuples():
        where = f"{row.case}/{row.variant} {row.exporter} opset {row.opset_requested} {row.runtime}"
        if row.options:
            where += f" ({row.options})"
        print(f"  {row.change.upper():<17} {where}: {row.status_before} -> {row.status_after}")
        error = str(row.error_after if row.change != "fixed" else row.error_before or "").strip().split("\n")[0]
        if error:
            print(f"      {error[:160]}")
