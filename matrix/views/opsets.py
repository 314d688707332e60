"""A cell's opset is the opset of its file, and what every page counts: the one place rows become cells.

An exporter may ignore the opset it is asked for: torch's dynamo exporter writes opset 18 whatever
was requested below it (torch 2.1.2 to 2.15.0), so its "opset 9", "opset 11" and "opset 18" rows
run one file three times. Every view (overview, environment pages, history, diffs, plots, the
report, ``compare``) turns a current view into cells here, so one file is one cell, labelled
"requested 9, 11 → wrote 18", and each page counts the same thing (``COUNTED``).

Pure pandas, frame in and frame out; rows of any shape survive (a missing field is a gap).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import pandas as pd

from matrix.adapters import EXPORTERS
from matrix.views.labels import PASS, SKIP, rank

OPSET = "opset"  # the column of the file's opset, beside the row's own opset_requested
# the rows that are one cell: everything that makes a cell but the opset asked for
SAME_CELL = ["env_id", "case", "variant", "options", "exporter", "runtime", "provider", "runtime_env", OPSET]
COLUMN = ["env_id", "exporter", "opset_requested"]  # an exporter's request in one environment
COUNTED = "cells this environment's runtimes ran"
WITH_REPLAYS = "with replays"
COUNTED_NOTE = ("a cell is one exported file (its opset, not the one requested) on one runtime and provider, "
                "for one case, variant and set of export options; skipped columns are not cells")
_OPSET_IN_KEY = re.compile(r"/opset\d+/")


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


def file_opsets(view: pd.DataFrame) -> pd.Series:
    """The opset of each row's file: ``opset_actual``; where the export failed (no file), the opset the other
    files of the same request in the same environment have (when they agree); else the one requested, raised to
    the lowest its exporter writes (``lowest_opset`` of its adapter)."""
    actual = pd.to_numeric(_column(view, "opset_actual"), errors="coerce")
    requested = pd.to_numeric(_column(view, "opset_requested"), errors="coerce")
    if view.empty:
        return pd.Series(dtype="Int64")
    names = [c for c in COLUMN if c in view]
    keys = view[names].astype(str).groupby(names, sort=False, dropna=False).ngroup()
    known = actual.groupby(keys).agg(lambda s: s.dropna().iloc[0] if s.dropna().nunique() == 1 else float("nan"))
    # else what the exporter declares it writes (its adapter's lowest opset: a request below it is raised to it)
    lowest = pd.to_numeric(pd.Series([_lowest_opset(name, torch) for name, torch in
                                      zip(_column(view, "exporter"), _column(view, "torch"))], index=view.index),
                           errors="coerce")
    declared = requested.where(lowest.isna() | (requested >= lowest), lowest)
    written = actual.fillna(keys.map(known)).fillna(declared)
    return written.round().astype("Int64")


def _lowest_opset(name: Any, torch: Any = None) -> Any:
    """The lowest opset the exporter writes in that torch (dynamo: 18 before 2.9, 13 from it), or None."""
    exporter = EXPORTERS.get(name) if isinstance(name, str) else None
    written = getattr(exporter, "written_opsets", None)
    if written is not None and isinstance(torch, str) and torch[:1].isdigit():
        return written(torch)[0]
    return getattr(exporter, "lowest_opset", None)


def _opsets_text(values: Iterable[Any]) -> str:
    numbers = sorted({int(v) for v in values if not pd.isna(v)})
    return ", ".join(map(str, numbers)) if numbers else "?"


def opset_label(requested: str, opset: Any) -> str:
    """``opset 11``, or ``requested 9, 11 → wrote 18`` where the file is not what was asked for (the requests
    it honoured are not repeated)."""
    wrote = "?" if pd.isna(opset) else str(int(opset))
    ignored = [r for r in (requested if isinstance(requested, str) else "?").split(", ") if r != wrote]
    return f"opset {wrote}" if not ignored else f"requested {', '.join(ignored)} → wrote {wrote}"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA


def cell_key(cell: Any, opset: Any) -> str:
    """The cell's identity by the opset of its file (``.../dynamo/opset18/...``), whatever was requested."""
    text = "?" if _missing(cell) else str(cell)
    wrote = "?" if pd.isna(opset) else str(int(opset))
    # a foreign id without an opset part is its own cell (ids are unique per environment)
    return _OPSET_IN_KEY.sub(f"/opset{wrote}/", text, count=1)


def cells(view: pd.DataFrame, by: Iterable[str] = ()) -> pd.DataFrame:
    """One row per cell of a current view (``frames.current_view``): rows that differ only in the opset asked for
    and share the opset of their file are one cell, shown by its worst row (they ran one file).

    Added columns: ``opset`` (the file's), ``requested`` ("9, 11"), ``opset_label``, ``merged`` (rows it
    stands for), ``files`` (distinct exported files among them), ``cell_key`` (its identity by file opset).
    ``by`` names more columns that keep rows apart (``run_id``: each run's cells, for a history).
    """
    frame = view.copy()
    for name in SAME_CELL + ["opset_requested", "status", "cell", "export_sha256"]:
        if name != OPSET and name not in frame:
            frame[name] = None
    frame["runtime_env"] = frame["runtime_env"].fillna("")
    frame[OPSET] = file_opsets(frame) if len(frame) else pd.Series(dtype="Int64")
    if frame.empty:
        return frame.assign(requested=pd.Series(dtype=str), opset_label=pd.Series(dtype=str),
                            merged=pd.Series(dtype=int), files=pd.Series(dtype=int), cell_key=pd.Series(dtype=str))
    frame["_order"] = range(len(frame))  # the view's order (newest last) survives the grouping
    frame["_rank"] = [-rank(s) for s in frame["status"].astype(str)]
    frame["_honest"] = pd.to_numeric(frame["opset_requested"], errors="coerce") != frame[OPSET]
    frame["cell_key"] = [cell_key(c, o) if not _missing(c) else "/".join(map(str, fields)) + f"|opset{o}"
                         for c, o, fields in zip(frame["cell"], frame[OPSET], frame[SAME_CELL].values.tolist())]
    same = ["env_id", "cell_key", *[c for c in by if c in frame]]  # the cell id says all but the opset
    frame["_group"] = frame[same].astype(str).groupby(same, sort=False, dropna=False).ngroup()
    # most cells are one row (the op corpus: tens of thousands): those need no Python per group
    size = frame.groupby("_group", sort=False)["_order"].transform("size")
    single = frame[size == 1].set_index("_group")
    requested = pd.to_numeric(single["opset_requested"], errors="coerce")
    one = pd.DataFrame({"requested": [str(int(r)) if not pd.isna(r) else "?" for r in requested],
                        "merged": 1, "files": single["export_sha256"].notna().astype(int).values}, index=single.index)
    many = frame[size > 1].groupby("_group", sort=False).agg(
        requested=("opset_requested", _opsets_text), merged=("_order", "size"),
        files=("export_sha256", lambda s: int(s.dropna().nunique())))
    agg = pd.concat([one, many])
    best = frame.sort_values(["_rank", "_honest", "opset_requested"], na_position="last", kind="stable")
    out = best.drop_duplicates("_group").set_index("_group").join(agg).sort_values("_order")
    out["opset_label"] = [opset_label(r, o) for r, o in zip(out["requested"], out[OPSET])]
    return out.drop(columns=["_order", "_rank", "_honest"]).reset_index(drop=True)


def env_counts(cells_frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per environment, what every page counts (``COUNTED``): its own runtimes' cells that ran, those that pass,
    their statuses, and the replays of its files by another environment's runtimes (``WITH_REPLAYS``)."""
    if cells_frame.empty:
        return {}
    ran = cells_frame[cells_frame["status"].astype(str) != SKIP]
    replay = ran["runtime_env"].fillna("") != ""
    counts: dict[str, dict[str, Any]] = {}
    for env_id, rows in ran.groupby("env_id", sort=False):
        own = rows[~replay.loc[rows.index]]
        counts[str(env_id)] = {"cells": len(own), "passed": int((own["status"] == PASS).sum()),
                               "statuses": own["status"].value_counts().to_dict(),
                               "replays": int(replay.loc[rows.index].sum()),
                               "with_replays": len(rows)}
    return counts


def ranges(numbers: Iterable[int]) -> str:
    """``10, 12–17``: numbers as runs."""
    values = sorted(set(numbers))
    parts: list[str] = []
    start = prev = None
    for n in values + [None]:
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = n
    return ", ".join(parts)


def not_measured(opsets: Iterable[Any]) -> str:
    """``opset 10, 12–17 not measured``: the opsets between the lowest and the highest file opset that no
    file has, or "" where none is missing."""
    have = sorted({int(o) for o in opsets if not pd.isna(o)})
    if not have:
        return ""
    gaps = [n for n in range(have[0], have[-1] + 1) if n not in have]
    return f"opset {ranges(gaps)} not measured" if gaps else ""


def requested_ignored(cells_frame: pd.DataFrame) -> list[str]:
    """Per exporter whose files are not the opset asked for: ``dynamo: requested 9, 11 → wrote 18 (112 cells
    from 336 rows)``."""
    lines = []
    if cells_frame.empty:
        return lines
    off = cells_frame[cells_frame["merged"] > 1]
    off = off[off["opset_label"].str.startswith("requested")]
    for (exporter, label), rows in off.groupby(["exporter", "opset_label"], sort=True):
        lines.append(f"{exporter}: {label} ({len(rows)} cells from {int(rows['merged'].sum())} rows)")
    return lines
