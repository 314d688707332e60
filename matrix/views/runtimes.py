"""The runtime axis in views: exported files x onnxruntime releases, and what changed between neighbouring releases.

Rows are the replay rows of ``<entry>-ort<version>`` runtime environments (``runtime_onnxruntime`` the version that
ran them); a file is its exporting environment and its cell without the runtime (case, variant, exporter, opset,
options). Pure pandas, frame in and frame out; the command's lines and the site's page are made from these.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

from matrix.views.diff import CHANGES
from matrix.views.labels import error_headline, error_signature
from matrix.wire import Status

NOTES = "https://github.com/microsoft/onnxruntime/releases/tag/v{}"
COLUMNS = ["file", "files_of", "case", "variant", "exporter", "opset_requested", "release", "runtime_env", "status",
           "error", "signature", "verdict"]


def _version_key(text: str):
    try:
        return (0, Version(str(text)))
    except InvalidVersion:
        return (1, str(text))


def axis_frame(rows: pd.DataFrame, entry_id: str) -> pd.DataFrame:
    """The axis's rows of ``entry_id``'s runtime environments, one per file and release (the newest row of each)."""
    prefix = f"{entry_id}-ort"
    if rows.empty or "runtime_env" not in rows:
        return pd.DataFrame(columns=COLUMNS)
    mine = rows[rows["runtime_env"].fillna("").str.startswith(prefix) & (rows["runtime"] == "onnxruntime")]
    if mine.empty:
        return pd.DataFrame(columns=COLUMNS)
    release = mine["runtime_onnxruntime"].where(mine["runtime_onnxruntime"].notna(),
                                                mine["runtime_env"].str[len(prefix):]).astype(str)
    base = mine["cell"].astype(str).str.split("@").str[0].str.split("/").str[:-2].str.join("/")
    error = [e if isinstance(e, str) and e else None for e in mine["error"]]  # NaN is no error (pandas' missing text)
    frame = mine.assign(file=mine["env_id"].astype(str) + ": " + base, files_of=mine["env_id"], release=release,
                        error=error, signature=[error_signature(e) if e else "" for e in error])
    return frame[COLUMNS].drop_duplicates(["file", "release"], keep="last").reset_index(drop=True)


def releases_of(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["release"].unique().tolist(), key=_version_key)


def overview(frame: pd.DataFrame) -> dict[str, Any]:
    """Files x releases: each cell its status, error headline and signature; a file whose outcome differs between
    releases first (those are what the axis is for), then by name."""
    releases = releases_of(frame)
    files = []
    for file, group in frame.groupby("file", sort=True):
        by = {r["release"]: {**r, "error": _text(r["error"])} for r in group.to_dict("records")}
        cells = [{"release": rel, **({"status": by[rel]["status"], "signature": by[rel]["signature"],
                                      "error": error_headline(by[rel]["error"]) if by[rel]["error"] else ""}
                                     if rel in by else {"status": None, "signature": "", "error": ""})}
                 for rel in releases]
        outcomes = {(c["status"], c["signature"]) for c in cells if c["status"]}
        first = group.iloc[0]
        # a file with one outcome on every release is one cell wide (most files: the page stays small)
        uniform = cells[0] if len(outcomes) == 1 and all(c["status"] for c in cells) else None
        files.append({"file": file, "files_of": first["files_of"], "case": first["case"], "cells": cells,
                      "moves": len(outcomes) > 1, "uniform": uniform})
    files.sort(key=lambda f: (not f["moves"], f["file"]))
    counts = {rel: frame[frame["release"] == rel]["status"].value_counts().to_dict() for rel in releases}
    return {"releases": releases, "files": files, "counts": counts, "moving": sum(f["moves"] for f in files)}


def neighbour_diffs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """For each pair of neighbouring releases, the files that broke, got fixed or fail differently."""
    releases = releases_of(frame)
    found = []
    for before, after in zip(releases, releases[1:]):
        a = frame[frame["release"] == before].set_index("file")
        b = frame[frame["release"] == after].set_index("file")
        changes: dict[str, list[dict[str, Any]]] = {c: [] for c in CHANGES}
        for file in sorted(set(a.index) & set(b.index)):
            x, y = a.loc[file], b.loc[file]
            change = _change(x, y)
            if change:
                error = _text(x["error"] if change == "fixed" else y["error"])
                changes[change].append({"file": file, "status_before": x["status"], "status_after": y["status"],
                                        "error": error_headline(error) if error else "", "signature": error_signature(error) if error else ""})
        found.append({"before": before, "after": after, "changes": changes, "counts": {c: len(v) for c, v in changes.items()},
                      "notes": NOTES.format(after)})
    return found


def _text(value: Any) -> str:
    """An error as text: "" for none (pandas keeps a missing one as NaN)."""
    return value if isinstance(value, str) else ""


def _change(x: pd.Series, y: pd.Series) -> str:
    passed = Status.PASS.value
    if Status.SKIP.value in (x["status"], y["status"]):
        return ""
    if x["status"] == passed and y["status"] != passed:
        return "broke"
    if x["status"] != passed and y["status"] == passed:
        return "fixed"
    if x["status"] != passed and (x["status"] != y["status"] or x["signature"] != y["signature"]):
        return "fails differently"
    return ""


def axis_lines(out: Path, record: dict[str, Any]) -> list[str]:
    """The axis in words, the answer first: releases that ran and their statuses, the changes between neighbours,
    then every release that could not run, with why."""
    from matrix.results.read import Results
    entry = record["entry"]
    frame = axis_frame(Results(out).rows() if (out / "runs").is_dir() else pd.DataFrame(), entry)
    ran = {v: r for v, r in record["releases"].items() if r.get("outcome") == "ran"}
    files = record["files"] if isinstance(record["files"], str) else "the files of " + ", ".join(record["files"])
    lines = [f"{entry}: {len(ran)} onnxruntime release(s) ran {files}: "
             + (", ".join(sorted(ran, key=_version_key)) or "none")]
    for version, item in sorted(ran.items(), key=lambda kv: _version_key(kv[0])):
        disk = item.get("disk") or {}
        cost = (f"{disk.get('own_mb')} MB of its own ({disk.get('files_mb')} MB of files, hard links to uv's cache)"
                if "own_mb" in disk else disk.get("note", ""))
        lines.append(f"  onnxruntime {version}: {item.get('cells')} cells {item.get('statuses')}; built in "
                     f"{item.get('build_s')} s, ran in {item.get('run_s')} s; {cost}")
    for diff in neighbour_diffs(frame):
        counts = ", ".join(f"{n} {c}" for c, n in diff["counts"].items())
        lines.append(f"  {diff['before']} -> {diff['after']}: {counts}")
        for change, items in diff["changes"].items():
            for item in items[:5]:
                lines.append(f"    {change.upper():<17} {item['file']}: {item['status_before']} -> {item['status_after']}"
                             + (f": {item['error'][:140]}" if item["error"] else ""))
            if len(items) > 5:
                lines.append(f"    ... and {len(items) - 5} more {change}")
    for version, item in sorted(record["releases"].items(), key=lambda kv: _version_key(kv[0])):
        if item.get("outcome") != "ran":
            lines.append(f"  not run: onnxruntime {version} ({item.get('outcome')}): {item.get('reason')}")
    return lines


def publish_axis(out: Path, target: Path, record: dict[str, Any]) -> str:
    """Copy the axis's rows (``<entry>.parquet``) and its record (``<entry>.json``) into ``target``
    (results/runtimes/): what the site's runtimes page reads."""
    from matrix.results.archive import local_paths_stripped
    from matrix.results.publish import write_rows
    from matrix.results.read import Results
    from matrix.results.rows import read_rows
    entry = record["entry"]
    prefix = f"{entry}-ort"
    rows = []
    for run in Results(out).runs:
        for path in Results.row_files(run):
            found, problems = read_rows(path)
            if problems:
                raise ValueError("; ".join(problems))
            rows.extend(local_paths_stripped(r) for r in found if str(r.get("runtime_env") or "").startswith(prefix))
    if not rows:  # a run where no release could be built (uv missing, an index down) replaces nothing published
        raise ValueError(f"no rows of {entry}'s runtime axis in {out}: nothing published, {target} left as it was")
    target.mkdir(parents=True, exist_ok=True)
    size = write_rows(target / entry, rows)
    (target / f"{entry}.json").write_text(json.dumps(local_paths_stripped(record), indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return f"published {len(rows)} rows of {entry}'s runtime axis into {target} ({size / 2**20:.2f} MiB)"
