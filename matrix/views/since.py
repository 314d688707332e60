"""Supported since, caniuse-style: per exporter and runtime, the first release and the lowest opset where a
row of a table works, with the exceptions as numbered notes.

A row is whatever ``keys`` name (a pitfall's case and variant now; an operator or a model later). It
*works* in a release at opset ≥ O when every cell of it there (each export option and provider) whose
file has an opset ≥ O passes, and at least one such cell ran. "From torch R, opset ≥ O" is the earliest
R (then the fewest exceptions, then the lowest O) that works in R and in the newest release that measured
it; a later release where it does not is a note. Cells come from ``opsets.cells`` (the file's opset),
the environment's own runtimes only (a replay is another environment's runtime). Pure pandas.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from matrix.views.labels import PASS, SKIP, rank, runtime_label

KINDS = {"since": "works from a release on", "until": "worked, not in the newest release",
         "never": "never works", "unmeasured": "not measured"}


def _table(cells: pd.DataFrame, keys: list[str], releases: list[str]) -> pd.DataFrame:
    """(keys, exporter, runtime, env_id, opset) -> passed (all cells there pass), worst status."""
    ran = cells[(cells["status"].astype(str) != SKIP) & (cells["runtime_env"].fillna("") == "")
                & cells["env_id"].isin(releases) & cells["opset"].notna()]
    ran = ran.assign(runtime_name=[runtime_label(r, p) for r, p in zip(ran["runtime"], ran["provider"])],
                     passed=ran["status"] == PASS, _rank=ran["status"].astype(str).map(rank))
    group = [*keys, "exporter", "runtime_name", "env_id", "opset"]
    worst = ran.sort_values("_rank", kind="stable").groupby(group, dropna=False)["status"].last()
    return ran.groupby(group, dropna=False)["passed"].all().to_frame().join(worst.rename("worst")).reset_index()


def _works(sub: pd.DataFrame, release: str, opset: int) -> bool | None:
    """Whether every cell at opset ≥ ``opset`` in ``release`` passes; None where none ran there."""
    there = sub[(sub["env_id"] == release) & (sub["opset"] >= opset)]
    return None if there.empty else bool(there["passed"].all())


def _failures(sub: pd.DataFrame, release: str, opset: int, label: str) -> str:
    there = sub[(sub["env_id"] == release) & (sub["opset"] >= opset) & ~sub["passed"]]
    parts = [f"{w} at opset {int(o)}" for o, w in zip(there["opset"], there["worst"])]
    return f"not in {label}: " + ", ".join(parts)


def _candidate(sub: pd.DataFrame, order: list[str], opset: int, name: dict[str, str]) -> dict[str, Any] | None:
    ok = {r: _works(sub, r, opset) for r in order}
    measured = [r for r in order if ok[r] is not None]
    if not measured or not ok[measured[-1]]:
        return None
    first = next(r for r in measured if ok[r])
    later = measured[measured.index(first) + 1:]
    notes = [_failures(sub, r, opset, name.get(r, r)) for r in later if not ok[r]]
    return {"release": first, "opset": opset, "notes": notes, "at": order.index(first)}


def since_entry(sub: pd.DataFrame, releases: list[str], names: dict[str, str] | None = None) -> dict[str, Any]:
    """One exporter and runtime of one row: kind, release, opset, the text a page shows, and its notes."""
    names = names or {}
    order = [r for r in releases if r in set(sub["env_id"])]
    if sub.empty:
        return {"kind": "unmeasured", "release": None, "opset": None, "text": "not measured", "notes": []}
    opsets = sorted({int(o) for o in sub["opset"]})
    found = [c for c in (_candidate(sub, order, o, names) for o in opsets) if c]
    if found:
        best = min(found, key=lambda c: (c["at"], len(c["notes"]), c["opset"]))
        opset = f"opset ≥ {best['opset']}" if best["opset"] < opsets[-1] else f"opset {best['opset']}"
        text = f"from {names.get(best['release'], best['release'])}, {opset}"
        return {"kind": "since", "release": best["release"], "opset": best["opset"], "text": text,
                "notes": best["notes"]}
    passed = sub[sub["passed"]]
    if passed.empty:
        return {"kind": "never", "release": None, "opset": None, "text": "never", "notes": []}
    last = max(passed["env_id"], key=order.index)
    opset = int(passed[passed["env_id"] == last]["opset"].min())
    notes = [f"worked in {names.get(r, r)} at opset " + ", ".join(str(int(o)) for o in sorted(passed[passed["env_id"] == r]["opset"]))
             for r in order if r in set(passed["env_id"])]
    return {"kind": "until", "release": last, "opset": opset,
            "text": f"not in the newest release (last in {names.get(last, last)}, opset {opset})", "notes": notes}


def supported_since(cells: pd.DataFrame, releases: list[str], keys: Iterable[str] = ("case", "variant"),
                    names: dict[str, str] | None = None) -> dict[tuple, list[dict[str, Any]]]:
    """Per row (the values of ``keys``), one entry per exporter and runtime that ran it, exporter then runtime
    in name order: ``{"exporter", "runtime", "kind", "release", "opset", "text", "notes"}``."""
    keys = list(keys)
    if cells.empty:
        return {}
    table = _table(cells, keys, releases)
    found: dict[tuple, list[dict[str, Any]]] = {}
    for group, sub in table.groupby([*keys, "exporter", "runtime_name"], sort=True, dropna=False):
        *row, exporter, runtime = group
        entry = {"exporter": str(exporter), "runtime": str(runtime), **since_entry(sub, releases, names)}
        found.setdefault(tuple(row), []).append(entry)
    return found


def numbered(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries with their notes numbered across the table (1, 2, ...), as ``refs`` beside each entry;
    returns the notes in order: ``[{"n": 1, "text": ...}]``."""
    notes: list[dict[str, Any]] = []
    for entry in entries:
        entry["refs"] = []
        for text in entry.get("notes") or []:
            notes.append({"n": len(notes) + 1, "text": text})
            entry["refs"].append(len(notes))
    return notes


def in_words(entries: list[dict[str, Any]], runtime: str | None = None) -> str:
    """One row's since entries as a sentence, per exporter, on ``runtime`` (else each exporter's first runtime):
    ``torchscript: from torch 1.10.2, opset ≥ 11 · never with dynamo``."""
    picks = []
    for exporter in sorted({e["exporter"] for e in entries}):
        mine = [e for e in entries if e["exporter"] == exporter]
        picks.append(next((e for e in mine if e["runtime"] == runtime), mine[0]))
    parts = []
    for pick in sorted(picks, key=lambda e: list(KINDS).index(e["kind"])):  # what works first, "never" last
        if pick["kind"] in ("never", "unmeasured"):
            parts.append(f"{pick['text']} with {pick['exporter']}")
            continue
        count = len(pick["notes"]) if pick["kind"] == "since" else 0
        notes = f" ({count} exception{'s' if count != 1 else ''})" if count else ""
        parts.append(f"{pick['exporter']}: {pick['text']}{notes}")
    return " · ".join(parts)
