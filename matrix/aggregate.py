"""Results as pandas frames: load every run's rows, keep the current view, shape the matrix.

Pure functions, frame in and frame out; no HTML here.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from matrix.store import list_runs, read_rows
from matrix.worker.schema import EXPORT_OPTIONS, ROW_FIELDS

COLUMN_KEYS = ["env_id", "exporter", "opset_requested", "runtime", "provider", "runtime_env"]
ROW_KEYS = ["case", "variant", "options"]
NUMERIC = ["max_abs_err", "max_rel_err", "min_passing_atol", "latency_ms", "latency_p90_ms", "eager_ms",
           "eager_p90_ms", "gpu_node_share", "duration_s", "export_s"]


def load_rows(out: Path) -> tuple[pd.DataFrame, list[str]]:
    """Every readable row under ``out/runs``, and a message for each file or line skipped."""
    records: list[dict] = []
    problems: list[str] = []
    for run in list_runs(out):
        for path in sorted(run.path.glob("*.jsonl")):
            rows, issues = read_rows(path)
            records.extend(rows)
            problems.extend(_collapse(issues))
    frame = pd.DataFrame.from_records(records, columns=list(ROW_FIELDS))
    return frame, problems


def _collapse(issues: list[str]) -> list[str]:
    """One message per file and kind of problem, with a count, instead of one per line."""
    seen: dict[tuple[str, str], list[str]] = {}
    for issue in issues:
        where, _, what = issue.partition(": ")
        path = where.split(":")[0]
        seen.setdefault((path, what), []).append(where)
    return [f"{places[0]}: {what}" + (f" (and {len(places) - 1} more lines)" if len(places) > 1 else "")
            for (_, what), places in seen.items()]


def options_label(row: pd.Series) -> str:
    parts = [f"{k}={row[k]}" for k in EXPORT_OPTIONS if k in row and pd.notna(row[k])]
    return ", ".join(parts)


def current_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The newest row of every (environment, cell): what the report shows."""
    if frame.empty:
        return frame.assign(options=pd.Series(dtype=str))
    frame = frame.copy()
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.sort_values(["run_id", "finished_at"], na_position="first")
    frame = frame.drop_duplicates(["env_id", "cell"], keep="last")
    frame["options"] = frame.apply(options_label, axis=1) if len(frame) else ""
    frame["runtime_env"] = frame["runtime_env"].fillna("")  # "" = the exporting environment's own runtime
    return frame.reset_index(drop=True)


def shown_columns(view: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Matrix columns with at least one cell that ran, and the skipped ones with their reasons."""
    if view.empty:
        empty = pd.DataFrame(columns=COLUMN_KEYS)
        return empty, empty.assign(reason=pd.Series(dtype=str))
    ran = view.assign(ran=view["status"] != "skip")
    by_column = ran.groupby(COLUMN_KEYS, dropna=False).agg(ran=("ran", "any"), reason=("error", "first")).reset_index()
    shown = by_column[by_column["ran"]][COLUMN_KEYS]
    hidden = by_column[~by_column["ran"]][COLUMN_KEYS + ["reason"]]
    return shown.sort_values(COLUMN_KEYS).reset_index(drop=True), hidden.sort_values(COLUMN_KEYS).reset_index(drop=True)
