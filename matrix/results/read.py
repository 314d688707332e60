"""The one way views read results: runs, their rows, the cases' catalogues and the exported files.

Report, compare, triage, replay and repro all go through ``Results``; nothing else globs
a run folder. Rows are read with their schema migrated; what cannot be read is named
in ``problems`` and skipped, never fatal.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from matrix.paths import CACHE_DIR
from matrix.results.rows import read_rows
from matrix.results.store import RUNS, ResultsError, RunDir, current_hashes, list_runs, read_json, row_files
from matrix.wire import ROW_FIELDS

EXPORTS_CACHE = CACHE_DIR / "exports"
SKIP_KEYS = ("exporter", "opset_requested", "runtime", "provider", "runtime_env", "reason", "cells")
TEXT_FIELDS = ("error", "retry_error", "checker_error")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def without_colours(text: Any) -> Any:
    """Text without a terminal's colour codes (torch's dynamo errors carry them); anything else as it is."""
    return ANSI.sub("", text) if isinstance(text, str) else text
# Not a row field: the position of the row's run among the runs by start time (run.json), oldest 0. The views
# choose a cell's newest row by it, never by the text of a run id (``zzz-ci-7`` is no newer than ``aaa-1``).
RUN_ORDER = "run_order"


class Results:
    """The runs under ``out/runs`` (a reports folder, a shard's folder, or results/)."""

    def __init__(self, out: Path, case_dirs: list[Path] | None = None) -> None:
        self.out = Path(out)
        self.case_dirs = case_dirs or []
        self.problems: list[str] = []

    @functools.cached_property
    def runs(self) -> list[RunDir]:
        """Runs oldest first, by the start time each one recorded."""
        return list_runs(self.out)

    def run(self, ref: str) -> RunDir:
        """A run by id, or by its folder."""
        folder = Path(ref)
        if folder.is_dir() and (folder / "run.json").exists():
            return RunDir(folder.parent.parent, folder.name)
        for run in self.runs:
            if run.run_id == ref:
                return run
        raise ResultsError(f"no run {ref!r}: neither a run folder nor a run id under {self.out / RUNS}")

    @staticmethod
    def row_files(run: RunDir) -> list[Path]:
        return row_files(run.path)

    def rows(self, runs: list[RunDir] | None = None) -> pd.DataFrame:
        """Every readable row of these runs (default all), oldest run first, as a frame with every field."""
        records: list[dict] = []
        order = {run.run_id: i for i, run in enumerate(self.runs)}
        for run in self.runs if runs is None else runs:
            for path in self.row_files(run):
                rows, issues = read_rows(path)
                records.extend({**row, RUN_ORDER: order.get(run.run_id, len(order))} for row in rows)
                self.problems.extend(_collapse(issues))
        frame = pd.DataFrame.from_records(records, columns=[*ROW_FIELDS, RUN_ORDER])
        for column in TEXT_FIELDS:  # exporters colour their messages for a terminal; a page shows them plain
            frame[column] = frame[column].map(without_colours)
        return frame

    def catalogue(self) -> dict[str, dict[str, Any]]:
        """The newest catalogue entry of every case, whichever environment wrote it."""
        cases: dict[str, dict] = {}
        for path, data in self._records("*.catalogue.json*", "cases", "a catalogue"):
            for case in data["cases"]:
                if isinstance(case, dict) and isinstance(case.get("id"), str):
                    cases[case["id"]] = case
                else:
                    self.problems.append(f"{path}: a case entry without an id, skipped")
        return cases

    def _records(self, pattern: str, key: str, what: str) -> Iterator[tuple[Path, dict[str, Any]]]:
        """(path, data) of every run's JSON files matching ``pattern`` whose ``key`` holds a list, oldest run
        first; a file that is not JSON, or not such a record, is named among the problems and skipped."""
        for run in self.runs:
            for path in sorted(run.path.glob(pattern)):
                try:
                    data = read_json(path)
                except ResultsError as exc:
                    self.problems.append(str(exc))
                    continue
                if not isinstance(data, dict) or not isinstance(data.get(key), list):
                    self.problems.append(f"{path}: not {what}, skipped")
                    continue
                yield path, data

    @functools.lru_cache(maxsize=None)
    def case_as_run(self, run_id: str, env_id: str, case_id: str) -> dict[str, Any] | None:
        """The catalogue entry of a case as the environment's worker described it in that run (its source then)."""
        try:
            return case_in(self.run(run_id), env_id, case_id)
        except ResultsError:
            return None

    def skips(self) -> pd.DataFrame:
        """The columns each environment could not have, with the reason and how many cells, newest run's word."""
        found: dict[tuple, dict] = {}
        for _, data in self._records("*.skips.json", "columns", "a record of skipped columns"):
            for column in data["columns"]:
                if isinstance(column, dict) and isinstance(column.get("reason"), str):
                    entry = {"env_id": data.get("env_id"), **{k: column.get(k) for k in SKIP_KEYS}}
                    entry["runtime_env"] = entry["runtime_env"] or ""
                    found[tuple(entry[k] for k in ("env_id", *SKIP_KEYS[:-2]))] = entry
        return pd.DataFrame(list(found.values()), columns=["env_id", *SKIP_KEYS])

    def current_hashes(self) -> dict[str, str]:
        return current_hashes(self.case_dirs)

    def exports(self, exclude: str | None = None) -> list[tuple[str, RunDir, Path]]:
        """(env_id, run, folder of its files) for each environment's newest run that kept exported files.

        Published results keep them as ``exports/<env>.tar.gz``: those are unpacked once into a
        cache folder outside the results (``.cache/exports/``), so replay and the site read plain files.
        """
        found: dict[str, tuple[RunDir, Path]] = {}
        for run in self.runs:
            exports = run.path / "exports"
            if not exports.is_dir():
                continue
            for item in [exports, *exports.iterdir()]:
                if item.is_symlink():  # a view never follows one: its target may be anything on this machine
                    self.problems.append(f"{item}: a symbolic link, not read (never followed)")
            if exports.is_symlink():
                continue
            for item in exports.iterdir():
                if item.is_symlink():
                    continue
                if item.is_dir() and item.name != exclude and any(item.glob("*.json")):
                    found[item.name] = (run, item)
                elif item.name.endswith(".tar.gz") and item.name[:-len(".tar.gz")] != exclude:
                    found[item.name[:-len(".tar.gz")]] = (run, item)
        result = []
        for env_id, (run, item) in sorted(found.items()):
            if item.is_file():
                from matrix.results.archive import unpack_exports
                item = unpack_exports(item, EXPORTS_CACHE / run.run_id / env_id)
            result.append((env_id, run, item))
        return result


def case_in(run: RunDir, env_id: str, case_id: str) -> dict[str, Any] | None:
    """A case's entry in ``env_id``'s catalogue of ``run``; None where the catalogue or the case is missing."""
    try:
        data = read_json(run.catalogue_file(env_id))
    except ResultsError:
        return None
    for case in (data or {}).get("cases", []) if isinstance(data, dict) else []:
        if isinstance(case, dict) and case.get("id") == case_id:
            return case
    return None


def _collapse(issues: list[str]) -> list[str]:
    """One message per file and kind of problem, with a count, instead of one per line."""
    seen: dict[tuple[str, str], list[str]] = {}
    for issue in issues:
        where, _, what = issue.partition(": ")
        path = where.split(":")[0]
        seen.setdefault((path, what), []).append(where)
    return [f"{places[0]}: {what}" + (f" (and {len(places) - 1} more lines)" if len(places) > 1 else "")
            for (_, what), places in seen.items()]
