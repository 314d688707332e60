"""The operator corpus's table, caniuse-style: per op and dtype, exporter and runtime, in which release and from
which opset it works, and what fails where it does not.

Op results are big (tens of thousands of rows per environment, most of a row the exporter's and the runtime's
code): rows are read one file at a time and only the fields a table needs are kept. A cell is the opset of its
file (``opsets.cells``). "Works from opset O" in a release: every cell at opset >= O passes there (a suffix of
the opset axis), and at least one ran; "since" is the first release that works and whose newer releases all do.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from matrix.results.read import Results, without_colours
from matrix.results.rows import iter_rows
from matrix.views.frames import RUN_ORDER
from matrix.views.labels import PASS, SKIP, rank, runtime_label
from matrix.views.opsets import cells

FIELDS = ("env_id", "run_id", "cell", "case", "variant", "exporter", "opset_requested", "opset_actual", "runtime",
          "provider", "runtime_env", "status", "error", "torch", "finished_at", "export_sha256")
KEYS = ["op", "dtype", "exporter", "runtime_name"]
DTYPES = ("float32", "float16", "int64", "int32", "bool")


def _first_line(text: Any) -> str | None:
    lines = str(without_colours(text) or "").strip().splitlines()
    return lines[0][:300] if lines else None


def op_facts(case: Any) -> dict[str, Any] | None:
    """An op case's ``op`` facts (name, dtype) with text values, or None: a foreign catalogue can hold anything."""
    meta = case.get("meta") if isinstance(case, dict) else None
    if not isinstance(meta, dict) or meta.get("corpus") != "ops":
        return None
    op = meta.get("op") if isinstance(meta.get("op"), dict) else {}
    return {"name": str(op.get("name") or case.get("id")), "dtype": str(op.get("dtype") or "?")}


def op_view(results: Path, ops: set[str] | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """The current cells of the op corpus in ``results`` (own runtimes only), with op, dtype and runtime name,
    and the op cases' catalogue entries (all of them); ``ops``: the cells of these ops only."""
    reader = Results(results)
    catalogue = {k: c for k, c in reader.catalogue().items() if op_facts(c) is not None}
    cases = None if ops is None else {k for k, c in catalogue.items() if op_facts(c)["name"] in ops}
    records = []
    for order, run in enumerate(reader.runs):
        for path in reader.row_files(run):
            if ".replay." in path.name:
                continue
            # the table's fields only: a Parquet file reads just their columns (a whole op row is mostly code)
            records.extend({**{k: r.get(k) for k in FIELDS}, "error": _first_line(r.get("error")),
                            RUN_ORDER: order} for r in iter_rows(path, fields=FIELDS, cases=cases) if r.get("case") in catalogue)
    frame = pd.DataFrame.from_records(records, columns=[*FIELDS, RUN_ORDER])
    if frame.empty:
        return frame.assign(op=None, dtype=None, runtime_name=None, opset=None), catalogue
    frame = frame.sort_values([RUN_ORDER, "finished_at"], na_position="first", kind="stable")
    frame = frame.drop_duplicates(["env_id", "cell"], keep="last")
    view = cells(frame)
    meta = {k: op_facts(c) for k, c in catalogue.items()}
    view["op"] = view["case"].map(lambda c: meta.get(c, {}).get("name"))
    view["dtype"] = view["case"].map(lambda c: meta.get(c, {}).get("dtype"))
    view["runtime_name"] = [runtime_label(r, p) for r, p in zip(view["runtime"], view["provider"])]
    return view, catalogue


def works_from(view: pd.DataFrame) -> pd.DataFrame:
    """Per op, dtype, exporter, runtime and release: the lowest opset from which every cell passes (NaN where
    none does), the worst status and its error there, and whether anything ran (all skips: nothing)."""
    ran = view[view["status"].astype(str) != SKIP].copy()
    ran["opset"] = pd.to_numeric(ran["opset"], errors="coerce")
    ran = ran.dropna(subset=["opset"]).sort_values("opset", ascending=False, kind="stable")
    group = [*KEYS, "env_id"]
    ran["passed"] = ran["status"] == PASS
    # every cell from this opset up passes: a running all() down the opsets, highest first
    ran["suffix_ok"] = ran.groupby(group)["passed"].cummin().astype(bool)
    lowest = ran[ran["suffix_ok"]].groupby(group)["opset"].min().rename("works_from")
    ran["_rank"] = [rank(str(s)) for s in ran["status"]]
    worst = ran.sort_values("_rank", kind="stable").groupby(group).last()[["status", "error", "opset"]]
    table = worst.rename(columns={"status": "worst", "error": "worst_error", "opset": "worst_opset"})
    table = table.join(lowest).join(ran.groupby(group)["opset"].agg(["min", "max"]).rename(
        columns={"min": "lowest_measured", "max": "highest_measured"})).reset_index()
    skipped = view[view["status"].astype(str) == SKIP].groupby(group)["error"].first().rename("skip_reason")
    return table.merge(skipped.reset_index(), on=group, how="outer")


def since(table: pd.DataFrame, releases: list[str]) -> pd.DataFrame:
    """Per op, dtype, exporter and runtime: the first release that works and after which every measured release
    works too (``since``), its lowest opset then, and the newest release's own lowest opset."""
    order = {r: i for i, r in enumerate(releases)}
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for record in table.to_dict("records"):  # plain Python: thousands of tiny groups cost pandas more than this
        groups.setdefault(tuple(record[k] for k in KEYS), []).append(record)
    out = []
    for key, records in groups.items():
        measured = sorted((r for r in records if not pd.isna(r.get("worst"))),
                          key=lambda r: order.get(r["env_id"], len(order)))
        ok = [not pd.isna(r["works_from"]) for r in measured]
        start = next((i for i in range(len(ok)) if all(ok[i:])), None)
        entry = dict(zip(KEYS, key), ran=bool(ok), since=None, since_opset=None, newest_opset=None)
        if start is not None:
            entry.update(since=measured[start]["env_id"], since_opset=int(measured[start]["works_from"]),
                         newest_opset=int(measured[-1]["works_from"]))
        out.append(entry)
    return pd.DataFrame(out, columns=[*KEYS, "ran", "since", "since_opset", "newest_opset"])


def cell_words(entry: dict[str, Any] | None) -> tuple[str, str]:
    """A release's cell for one op, dtype, exporter and runtime: (kind, words)."""
    if entry is None or (pd.isna(entry.get("worst")) and pd.isna(entry.get("skip_reason"))):
        return "unmeasured", "·"
    if pd.isna(entry.get("worst")):
        return "skip", "–"
    if not pd.isna(entry.get("works_from")):
        low, top = int(entry["works_from"]), int(entry["highest_measured"])
        return "all" if low == int(entry["lowest_measured"]) else "some", (f"✓ {low}" if low == top else f"✓ ≥{low}")
    return "none", f"✗ {entry['worst']}"
