"""Cells that cannot exist in an environment, decided once per column and recorded once.

A column (exporter, opset, runtime, provider, runtime environment) is not applicable where the
worker's probes say so (no dynamo in torch 1.4, an opset above the exporter's maximum, no GPU):
its cells cost no row, no time and no line; ``<env>.skips.json`` keeps each column with its reason.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

from matrix.results.store import ResultsError, read_json, write_json
from matrix.run.plan import skip_reason
from matrix.wire import Cell


def column(cell: Cell) -> tuple:
    """A column of the matrix: where a cell can or cannot exist does not depend on the case."""
    return (cell.exporter, cell.opset, cell.runtime, cell.provider, cell.runtime_env)


def _key(recorded: dict[str, Any]) -> tuple:
    return (recorded.get("exporter"), recorded.get("opset_requested"), recorded.get("runtime"),
            recorded.get("provider"), recorded.get("runtime_env"))


class Skips:
    """One rows file's skipped columns: read once, added to, written whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            recorded = (read_json(path) or {}).get("columns", [])
        except (ResultsError, AttributeError):  # unreadable: decided again, and written anew
            recorded = []
        self.columns = [c for c in recorded if isinstance(c, dict)]

    def cells(self) -> int:
        return sum(int(c.get("cells", 0)) for c in self.columns)

    def decided(self) -> set[tuple]:
        return {_key(c) for c in self.columns}

    def decide(self, jobs: list, caps: dict[str, Any], env_id: str, log: Callable[[str], None]) -> tuple[list, int]:
        """The jobs that can run here, and how many cells were decided not applicable (recorded now, under
        ``env_id``, the environment whose rows they would have been)."""
        reasons: dict[tuple, str | None] = {}
        new: dict[tuple, dict[str, Any]] = {}
        runnable = []
        for job in jobs:
            cell = job.cell
            key = column(cell)
            if key not in reasons:
                reasons[key] = skip_reason(cell, caps)
            if reasons[key] is None:
                runnable.append(job)
                continue
            entry = new.setdefault(key, {"exporter": cell.exporter, "opset_requested": cell.opset,
                                         "runtime": cell.runtime, "provider": cell.provider,
                                         "runtime_env": cell.runtime_env, "reason": reasons[key], "cells": 0})
            entry["cells"] += 1
        if new:
            self.columns += list(new.values())
            write_json(self.path, {"env_id": env_id, "columns": self.columns})
            by_reason: Counter = Counter()
            for entry in new.values():
                by_reason[entry["reason"]] += entry["cells"]
            for reason, cells in by_reason.items():
                log(f"{cells} cells not applicable here, recorded once per column: {reason}")
        return runnable, sum(c["cells"] for c in new.values())
