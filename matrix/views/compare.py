"""Regressions between two sets of results: cells whose outcome got worse from BASE to NEW.

    python -m matrix compare BASE NEW [--junit FILE] [--markdown FILE]

Each side is a run id (under --out), a run folder, or a whole out folder such as ``results``
or ``reports`` (its current view: every environment's newest row per cell). Cells are matched
by environment and cell key. A cell whose case source changed between the two (its case hash)
is "changed", never a regression: it answers another question. Exit 1 on a regression.
JUnit XML (a cell is a testcase: an unexpected failure a failure, an expected one skipped with
its reason) and a Markdown summary serve CI.
"""
from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pandas as pd

from matrix.results.read import Results
from matrix.results.store import RUNS
from matrix.views.frames import current_view
from matrix.views.labels import NOT_AS_EXPECTED, PASS, SKIP, Verdict, rank

KEEP = ["env_id", "cell", "status_base", "status_new", "error_new"]


@dataclasses.dataclass
class Comparison:
    base: str
    new: str
    regressions: pd.DataFrame
    improvements: pd.DataFrame
    changed: pd.DataFrame
    only_base: int
    only_new: int
    problems: list[str]
    new_view: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def load_side(ref: str, out: Path) -> tuple[pd.DataFrame, list[str]]:
    """The current view of a run id, a run folder, or a whole out folder (results/, reports/)."""
    path = Path(ref)
    if path.is_dir() and (path / RUNS).is_dir():
        results = Results(path)
        return current_view(results.rows()), results.problems
    results = Results(out)
    run = results.run(ref)  # a run id under out, or a run folder; ResultsError names both when neither
    if run.out != out:
        results = Results(run.out)
    return current_view(results.rows([run])), results.problems


def compare_runs(out: Path, base: str, new: str) -> Comparison:
    before, p1 = load_side(base, out)
    after, p2 = load_side(new, out)
    empty = pd.DataFrame(columns=KEEP)
    if before.empty or after.empty:
        return Comparison(base, new, empty, empty, empty, len(before), len(after), p1 + p2, after)
    columns = ["env_id", "cell", "status", "error", "case_hash"]
    merged = before[columns].merge(after[columns], on=["env_id", "cell"], how="outer",
                                   suffixes=("_base", "_new"), indicator=True)
    both = merged[merged["_merge"] == "both"].copy()
    changed = both["case_hash_base"].notna() & both["case_hash_new"].notna() & (
        both["case_hash_base"] != both["case_hash_new"])
    rank_base = both["status_base"].map(rank)
    rank_new = both["status_new"].map(rank)
    pick = lambda mask: both[mask & ~changed][KEEP].reset_index(drop=True)
    return Comparison(base, new, pick(rank_new > rank_base), pick(rank_new < rank_base),
                      both[changed][KEEP].reset_index(drop=True),
                      int((merged["_merge"] == "left_only").sum()), int((merged["_merge"] == "right_only").sum()),
                      p1 + p2, after)


def print_comparison(result: Comparison) -> None:
    for problem in result.problems:
        print(f"skipped: {problem}")
    print(f"{result.base} -> {result.new}: {len(result.regressions)} regression(s), "
          f"{len(result.improvements)} improvement(s), {len(result.changed)} changed case(s) "
          f"(not compared), {result.only_base} cell(s) only in base, {result.only_new} only in new")
    for title, frame in (("REGRESSION", result.regressions), ("improved", result.improvements)):
        for row in frame.itertuples():
            print(f"  {title}: [{row.env_id}] {row.cell}: {row.status_base} -> {row.status_new}"
                  + (f"  ({str(row.error_new)[:120]})" if title == "REGRESSION" and isinstance(row.error_new, str) else ""))


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if seconds == seconds else 0.0  # NaN: not measured


def write_junit(result: Comparison, path: Path) -> Path:
    """A testsuite per environment, a testcase per cell of NEW: a failure where it regressed (against
    BASE or against its case's expectations), skipped where it fails as expected (with the reason)."""
    regressed = set(zip(result.regressions["env_id"], result.regressions["cell"]))
    suites = ElementTree.Element("testsuites", name=f"the matrix: {result.base} -> {result.new}")
    view = result.new_view
    for env_id, rows in (view.groupby("env_id") if not view.empty else []):
        suite = ElementTree.SubElement(suites, "testsuite", name=str(env_id))
        failures = skipped = 0
        for row in rows.to_dict("records"):
            case = ElementTree.SubElement(suite, "testcase", classname=str(env_id), name=str(row["cell"]),
                                          time=f"{_seconds(row.get('duration_s')):.3f}")
            error = str(row.get("error") or "")[:2000]
            if (env_id, row["cell"]) in regressed or row.get("verdict") in NOT_AS_EXPECTED:
                failures += 1
                node = ElementTree.SubElement(case, "failure", message=f"{row['status']} ({row.get('verdict')})")
                node.text = error
            elif row["status"] != PASS:
                skipped += 1
                reason = row.get("expectation_reason") or row.get("error") or row["status"]
                ElementTree.SubElement(case, "skipped", message=f"{row['status']}: {str(reason)[:500]}")
        suite.set("tests", str(len(rows)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
    path.parent.mkdir(parents=True, exist_ok=True)
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path


def write_markdown(result: Comparison, path: Path) -> Path:
    """A short summary for a CI step summary ($GITHUB_STEP_SUMMARY)."""
    lines = [f"## The matrix: `{result.new}` against `{result.base}`", "",
             f"**{len(result.regressions)} regression(s)**, {len(result.improvements)} improvement(s), "
             f"{len(result.changed)} cell(s) of changed cases, {result.only_new} new and {result.only_base} gone.", ""]
    view = result.new_view
    if not view.empty:
        lines += ["| environment | cells | pass | failing as expected | not as expected |", "|---|---|---|---|---|"]
        for env_id, rows in view[view["status"] != SKIP].groupby("env_id"):
            unexpected = int(rows["verdict"].isin(NOT_AS_EXPECTED).sum())
            expected_fail = int(((rows["status"] != PASS) & (rows["verdict"] == Verdict.AS_EXPECTED.value)).sum())
            lines.append(f"| {env_id} | {len(rows)} | {int((rows['status'] == 'pass').sum())} | {expected_fail} | "
                         f"{unexpected} |")
        lines.append("")
    for title, frame in (("Regressions", result.regressions), ("Improvements", result.improvements)):
        if len(frame):
            lines += [f"### {title}", ""]
            for row in frame.head(50).itertuples():
                lines.append(f"- `{row.env_id}` `{row.cell}`: {row.status_base} → **{row.status_new}**")
            if len(frame) > 50:
                lines.append(f"- … and {len(frame) - 50} more")
            lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

