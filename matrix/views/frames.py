"""Results as pandas frames: the current view of every cell, and the matrix's columns.

Pure functions, frame in and frame out; no files and no HTML here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from matrix.results.read import RUN_ORDER
from matrix.views.labels import SKIP
from matrix.wire import EXPORT_OPTIONS, INT_FIELDS

# a column's opset is its files' (``opsets.cells``); a frame without that column places rows by the one requested
COLUMN_KEYS = ["env_id", "exporter", "opset", "runtime", "provider", "runtime_env"]
ROW_KEYS = ["case", "variant", "options"]
NUMERIC = ["max_abs_err", "max_rel_err", "min_passing_atol", "latency_ms", "latency_p90_ms", "eager_ms",
           "eager_p90_ms", "gpu_node_share", "provider_node_share", "duration_s", "export_s", "atol", "rtol"]


def options_text(record: dict) -> str:
    """``keep_initializers_as_inputs=False, dynamic_axes=True``: the export options a row set."""
    return ", ".join(f"{k}={bool(v)}" for k, v in record.items()
                     if k in EXPORT_OPTIONS and isinstance(v, (bool, np.bool_)))


def current_view(frame: pd.DataFrame, hashes: dict[str, str] | None = None) -> pd.DataFrame:
    """The newest row of every (environment, cell): what the views show, in run order (oldest first).

    Newest means of the run that started last (``run_order``, from each run's run.json; a frame without it
    lists its rows oldest first), then the row that finished last: never the text of a run id.

    ``stale`` marks a row whose case source (``case_hash``) is not the case's current one
    (``hashes``, from the case files on disk): it answers a case that no longer exists as it was. A row of an older
    run whose case the environment's newest run ran in another version is left out (that run made no such cell).
    """
    frame = frame.copy()
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    for column in INT_FIELDS:  # integers stay integers, with gaps (never 11.0)
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    if frame.empty:
        return frame.assign(options=pd.Series(dtype=str), stale=pd.Series(dtype=bool))
    order = frame[RUN_ORDER] if RUN_ORDER in frame else pd.Series(0, index=frame.index)
    frame = frame.assign(**{RUN_ORDER: order}).sort_values([RUN_ORDER, "finished_at"], na_position="first",
                                                           kind="stable")
    frame = frame.drop_duplicates(["env_id", "cell"], keep="last")
    frame["options"] = [options_text(r) for r in frame[list(EXPORT_OPTIONS)].to_dict("records")]
    frame["runtime_env"] = frame["runtime_env"].fillna("")  # "" = the exporting environment's own runtime
    current = frame["case"].map(hashes or {})
    frame["stale"] = current.notna() & frame["case_hash"].notna() & (current != frame["case_hash"])
    return frame[~superseded(frame)].reset_index(drop=True)


def superseded(frame: pd.DataFrame, by: tuple[str, ...] = ("env_id",)) -> pd.Series:
    """Rows of an older run than their environment's newest (per ``by``), of a case that run ran in another version:
    that run saw the case as it is and did not make the cell (a column it now skips, a variant gone, options that
    changed its cell ids). ``runtime_env`` "" marks an environment's own rows (a replay row carries its file's case
    version)."""
    keys = [*by, "case"]
    newest = frame.groupby(list(by))[RUN_ORDER].transform("max")
    own = (frame[RUN_ORDER] == newest) & (frame["runtime_env"] == "")
    latest = frame[own].drop_duplicates(keys).set_index(keys)["case_hash"]
    ran_as = pd.Series(list(zip(*(frame[k] for k in keys))), index=frame.index).map(latest)
    return (frame[RUN_ORDER] < newest) & ran_as.notna() & frame["case_hash"].notna() & (ran_as != frame["case_hash"])


def newest_run(view: pd.DataFrame) -> str:
    """The run id of the newest run among a current view's rows (by start time, as ``current_view`` orders)."""
    return str(view["run_id"].iloc[-1]) if len(view) else ""


def shown_columns(view: pd.DataFrame, skips: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Matrix columns with at least one cell that ran, and the columns not applicable, with their reasons.

    Skipped columns come from the runs' records (one per column); older runs wrote a skip row per
    cell, which count the same way.
    """
    view = _with_opset(view)
    skips = _with_opset(skips) if skips is not None else None
    if view.empty:
        shown = pd.DataFrame(columns=COLUMN_KEYS)
        hidden = pd.DataFrame(columns=COLUMN_KEYS + ["reason"])
    else:
        ran = view.assign(ran=view["status"] != SKIP)
        by_column = ran.groupby(COLUMN_KEYS, dropna=False).agg(ran=("ran", "any"),
                                                                 reason=("error", "first")).reset_index()
        shown = by_column[by_column["ran"]][COLUMN_KEYS]
        hidden = by_column[~by_column["ran"]][COLUMN_KEYS + ["reason"]]
    if skips is not None and not skips.empty:
        recorded = skips[COLUMN_KEYS + ["reason"]]
        hidden = pd.concat([hidden, recorded], ignore_index=True).drop_duplicates(COLUMN_KEYS)
        present = set(map(tuple, shown[COLUMN_KEYS].astype(str).values.tolist()))
        hidden = hidden[[tuple(map(str, k)) not in present for k in hidden[COLUMN_KEYS].values.tolist()]]
    return (shown.sort_values(COLUMN_KEYS).reset_index(drop=True),
            hidden.sort_values(COLUMN_KEYS, key=lambda c: c.astype(str)).reset_index(drop=True))


def _with_opset(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with the ``opset`` column: a skipped column's opset is the one requested (it wrote no file)."""
    if "opset" in frame:
        return frame
    requested = frame["opset_requested"] if "opset_requested" in frame else pd.Series(None, index=frame.index)
    return frame.assign(opset=pd.to_numeric(requested, errors="coerce").round().astype("Int64"))
