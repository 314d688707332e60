"""Regressions between two runs: cells whose outcome got worse from BASE to NEW."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from matrix.aggregate import current_view
from matrix.results import Results
from matrix.wire import SEVERITY

RANK = {status.value: rank for status, rank in SEVERITY.items()}


@dataclasses.dataclass
class Comparison:
    base: str
    new: str
    regressions: pd.DataFrame
    improvements: pd.DataFrame
    only_base: int
    only_new: int
    problems: list[str]


def _run_view(results: Results, ref: str) -> pd.DataFrame:
    return current_view(results.rows([results.run(ref)]))


def compare_runs(out: Path, base: str, new: str) -> Comparison:
    results = Results(out)
    before, after = _run_view(results, base), _run_view(results, new)
    keep = ["env_id", "cell", "status_base", "status_new", "error_new"]
    if before.empty or after.empty:
        empty = pd.DataFrame(columns=keep)
        return Comparison(base, new, empty, empty, len(before), len(after), results.problems)
    columns = ["env_id", "cell", "status", "error"]
    merged = before[columns].merge(after[columns], on=["env_id", "cell"], how="outer",
                                   suffixes=("_base", "_new"), indicator=True)
    both = merged[merged["_merge"] == "both"].copy()
    unknown = max(RANK.values()) + 1  # a status this harness does not know is worse than any it does
    rank_base = both["status_base"].map(RANK).fillna(unknown)
    rank_new = both["status_new"].map(RANK).fillna(unknown)
    return Comparison(base, new, both[rank_new > rank_base][keep].reset_index(drop=True),
                      both[rank_new < rank_base][keep].reset_index(drop=True),
                      int((merged["_merge"] == "left_only").sum()), int((merged["_merge"] == "right_only").sum()),
                      results.problems)


def print_comparison(result: Comparison) -> None:
    for problem in result.problems:
        print(f"skipped: {problem}")
    print(f"{result.base} -> {result.new}: {len(result.regressions)} regression(s), "
          f"{len(result.improvements)} improvement(s), {result.only_base} cell(s) only in base, "
          f"{result.only_new} only in new")
    for title, frame in (("REGRESSION", result.regressions), ("improved", result.improvements)):
        for row in frame.itertuples():
            print(f"  {title}: [{row.env_id}] {row.cell}: {row.status_base} -> {row.status_new}"
                  + (f"  ({str(row.error_new)[:120]})" if title == "REGRESSION" and isinstance(row.error_new, str) else ""))



