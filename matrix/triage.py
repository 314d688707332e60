"""Cells whose verdict is not as-expected, grouped, each group with a draft ``Expect(...)``.

    python -m matrix triage [--out DIR]

When a new torch or onnxruntime lands, this is the list to read: a regression to fix or
report upstream, or a change to record in the case's expectations (the reason is for a
person to write: the draft says TODO).
"""
from __future__ import annotations

import re
from pathlib import Path

from matrix.aggregate import current_view, load_rows
from matrix.lineup import LineupError, load_lineup


def _torch_range(envs: list[str], order: list[tuple[str, str]]) -> str | None:
    """A torch specifier covering exactly ``envs`` when they are contiguous in the lineup, else None."""
    ids = [env_id for env_id, _ in order]
    positions = sorted(ids.index(e) for e in envs if e in ids)
    if not positions or positions != list(range(positions[0], positions[-1] + 1)):
        return None
    if len(positions) == len(ids):
        return ""
    low = order[positions[0]][1]
    parts = [f">={low}"] if positions[0] > 0 else []
    if positions[-1] + 1 < len(ids):
        parts.append(f"<{order[positions[-1] + 1][1]}")
    return ",".join(parts)


def _signature(error: object) -> str:
    """The stable part of an error, for grouping: numbers and paths out."""
    text = str(error or "")[:160]
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", re.sub(r"/\S+", "PATH", text))


def triage(out: Path) -> list[dict]:
    frame, _ = load_rows(out)
    return triage_view(current_view(frame))


def triage_view(view) -> list[dict]:
    """The groups of a current view (see aggregate.current_view) whose verdict is not as expected."""
    if view.empty:
        return []
    flagged = view[view["verdict"].isin(["regression", "unexpected-pass"])].copy()
    try:
        order = [(e.id, e.torch) for e in load_lineup()]
    except LineupError:
        order = []
    flagged["signature"] = flagged["error"].map(_signature)
    keys = ["case", "variant", "options", "exporter", "runtime", "runtime_env", "status", "verdict", "signature"]
    groups = []
    for key, rows in flagged.groupby(keys, dropna=False):
        fields = dict(zip(keys, key))
        envs = sorted(set(rows["env_id"]))
        torch = _torch_range(envs, order)
        filters = [f'variant="{fields["variant"]}"', f'exporter="{fields["exporter"]}"', f'runtime="{fields["runtime"]}"']
        if torch:
            filters.append(f'torch="{torch}"')
        opsets = sorted(set(rows["opset_requested"]))
        draft = (f'Expect("{fields["status"]}", {", ".join(filters)}, reason="TODO")'
                 if fields["status"] != "pass" else "remove or narrow the Expect that predicted a failure here")
        groups.append({**fields, "envs": envs, "opsets": opsets, "cells": len(rows), "draft": draft,
                       "error": str(rows["error"].iloc[0] or "")[:300]})
    return sorted(groups, key=lambda g: (g["case"], g["variant"], g["exporter"], g["runtime"]))


def print_triage(groups: list[dict]) -> None:
    if not groups:
        print("every cell is as expected")
        return
    for g in groups:
        print(f"{g['verdict'].upper()}: {g['case']}/{g['variant']} {g['options'] or ''} {g['exporter']} "
              f"{g['runtime']}{'@' + g['runtime_env'] if g['runtime_env'] else ''} -> {g['status']} "
              f"in {', '.join(g['envs'])} (opsets {', '.join(map(str, g['opsets']))}; {g['cells']} cells)")
        if g["error"]:
            print(f"    error: {g['error']}")
        print(f"    draft: {g['draft']}")
