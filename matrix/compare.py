"""Regressions between two runs: cells whose outcome got worse from BASE to NEW."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from matrix.store import RUNS, ResultsError, read_rows

# Lower is better; a cell regresses when its status moves up this list.
SEVERITY = {"pass": 0, "skip": 0, "diverge": 1, "batch-fail": 2, "run-fail": 3, "load-fail": 4,
            "export-fail": 5, "build-fail": 6, "timeout": 7, "crash": 8}


@dataclasses.dataclass
class Comparison:
    base: str
    new: str
    regressions: pd.DataFrame
    improvements: pd.DataFrame
    only_base: int
    only_new: int
    problems: list[str]


def _run_rows(out: Path, run: str) -> tuple[pd.DataFrame, list[str]]:
    folder = Path(run) if Path(run).is_dir() else out / RUNS / run
    if not folder.is_dir():
        raise ResultsError(f"no run {run!r}: neither a folder nor a run id under {out / RUNS}")
    records, problems = [], []
    for path in sorted(folder.glob("*.jsonl")):
        rows, issues = read_rows(path)
        records += rows
        problems += issues
    return pd.DataFrame.from_records(records), problems


def compare_runs(out: Path, base: str, new: str) -> Comparison:
    before, p1 = _run_rows(out, base)
    after, p2 = _run_rows(out, new)
    columns = ["env_id", "cell", "status", "error"]
    if before.empty or after.empty:
        empty = pd.DataFrame(columns=["env_id", "cell", "status_base", "status_new", "error_new"])
        return Comparison(base, new, empty, empty, len(before), len(after), p1 + p2)
    merged = before[columns].merge(after[columns], on=["env_id", "cell"], how="outer",
                                   suffixes=("_base", "_new"), indicator=True)
    both = merged[merged["_merge"] == "both"].copy()
    both["worse"] = both["status_new"].map(SEVERITY) > both["status_base"].map(SEVERITY)
    both["better"] = both["status_new"].map(SEVERITY) < both["status_base"].map(SEVERITY)
    keep = ["env_id", "cell", "status_base", "status_new", "error_new"]
    return Comparison(base, new, both[both["worse"]][keep].reset_index(drop=True),
                      both[both["better"]][keep].reset_index(drop=True),
                      int((merged["_merge"] == "left_only").sum()), int((merged["_merge"] == "right_only").sum()),
                      p1 + p2)


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
