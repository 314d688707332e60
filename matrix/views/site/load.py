"""Everything the site shows, read once: rows of every run, the current view, cases, skips, references.

All reading goes through ``matrix.results.read.Results``; what cannot be read is collected in
``problems`` and shown on the overview, never fatal. Environments are ordered as the lineup
orders them (oldest torch first), then any environment the lineup does not know, by name.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pandas as pd

from matrix.envs.lineup import Entry, LineupError, by_id, env_order, load_lineup
from matrix.paths import CASES_DIR
from matrix.results.publish import references
from matrix.results.read import Results
from matrix.results.store import RunDir
from matrix.views.cells import case_entry
from matrix.views.frames import current_view
from matrix.views.opsets import cells, env_counts
from matrix.wire import INT_FIELDS

REPO_CASES = CASES_DIR


@dataclasses.dataclass
class SiteData:
    source: Path
    results: Results
    rows: pd.DataFrame                 # every row of every run: the history
    view: pd.DataFrame                 # every (environment, cell) by the opset of its file, its newest rows
    cases: dict[str, dict[str, Any]]   # id -> catalogue entry the templates can trust (broken ones keep an error)
    skips: pd.DataFrame                # columns not applicable, with their reason
    references: dict[str, dict[str, Any]]  # env id -> its reference's published.json
    env_ids: list[str]                 # every environment with rows, lineup order first
    lineup_ids: list[str]              # those of env_ids the lineup knows, in its order (release diffs)
    entries: dict[str, Entry]          # lineup entries by id (pins for reproductions)
    archives: dict[str, Path]          # env id -> its exported files (exports/<env>.tar.gz of its newest run)
    runs: list[RunDir]                 # oldest first
    problems: list[str]
    counts: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # env id -> what pages count

    @property
    def native(self) -> pd.DataFrame:
        """Cells each environment ran with its own runtimes (replays left out), skipped ones too."""
        return self.view[self.view["runtime_env"] == ""]


def _lineup(lineup: list[Entry] | None, problems: list[str]) -> list[Entry]:
    if lineup is not None:
        return lineup
    try:
        return load_lineup()
    except LineupError as exc:  # the site still builds, in name order
        problems.append(f"lineup: {exc}")
        return []


def _cases(catalogue: dict[str, dict], view: pd.DataFrame) -> dict[str, dict]:
    """Normalised catalogue entries, plus a placeholder for every case that has rows but no entry."""
    cases = {}
    for case_id, case in catalogue.items():
        try:
            cases[case_id] = case_entry(case)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a shape nothing expected: shown broken
            cases[case_id] = {"id": case_id, "file": None, "error": f"unreadable catalogue entry ({exc})", "meta": {},
                              "variants": [], "variant_sources": {}, "source": "", "case_hash": None}
    for case_id in sorted(set(view["case"].dropna().astype(str)) - set(cases)) if not view.empty else []:
        cases[case_id] = {"id": case_id, "file": None, "error": "this case is in the rows but in no catalogue",
                          "meta": {}, "variants": [], "variant_sources": {}, "source": "", "case_hash": None}
    return dict(sorted(cases.items()))


def _missing(value: object) -> bool:
    """None, or a NaN (JSON admits NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _archives(runs: list[RunDir]) -> dict[str, Path]:
    found = {}
    for run in runs:  # oldest first: the newest run that kept an environment's files wins
        for archive in sorted((run.path / "exports").glob("*.tar.gz")):
            found[archive.name[: -len(".tar.gz")]] = archive
    return found


def load(source: Path, lineup: list[Entry] | None = None, case_dirs: list[Path] | None = None) -> SiteData:
    problems: list[str] = []
    entries_list = _lineup(lineup, problems)
    results = Results(Path(source), case_dirs if case_dirs is not None else [REPO_CASES])
    rows = results.rows()
    for column in ("env_id", "case", "variant", "exporter", "runtime", "provider", "status", "cell"):
        # any row places somewhere: a missing or odd value becomes text
        rows[column] = ["?" if _missing(value) else str(value) for value in rows[column]]
    for column in INT_FIELDS:  # an opset is 9, never 9.0, even beside a row that has none
        rows[column] = pd.to_numeric(rows[column], errors="coerce").round().astype("Int64")
    for column in ("run_id", "finished_at", "case_hash", "runtime_env"):  # sorted and compared as text
        rows[column] = [None if _missing(value) else str(value) for value in rows[column]]
    view = cells(current_view(rows, results.current_hashes()))  # one cell per file: opsets.py
    catalogue = results.catalogue()
    skips = results.skips()
    rank = {e.id: i for i, e in enumerate(entries_list)}  # releases: a GPU variant is not a release of its own
    present = set(view["env_id"]) if not view.empty else set()
    env_ids = sorted(present, key=env_order(entries_list))
    refs = {}
    for meta in references(Path(source)):
        refs[str(meta["env_id"])] = meta
    problems.extend(results.problems)
    return SiteData(source=Path(source), results=results, rows=rows, view=view, cases=_cases(catalogue, view),
                    skips=skips, references=refs, env_ids=env_ids, lineup_ids=[e for e in env_ids if e in rank],
                    entries=by_id(entries_list), archives=_archives(results.runs), runs=results.runs,
                    problems=problems, counts=env_counts(view))
