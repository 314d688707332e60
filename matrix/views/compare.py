"""Regressions between two sets of results: cells whose outcome got worse from BASE to NEW.

    python -m matrix compare BASE NEW [--junit FILE] [--markdown FILE]

Each side is a run id (under --out), a run folder, or a whole out folder such as ``results``
or ``reports`` (its current view: every environment's newest row per cell). Cells are matched
by environment and cell key, a cell being one exported file on one runtime (``opsets.cells``: the
rows of opsets an exporter ignored, which ran the same file, are one cell keyed by the file's opset).
A cell whose case source changed between the two (its case hash) is "changed", never a regression:
it answers another question. Exit 1 on a regression. The summary counts, per environment, what every
page of the site counts (``opsets.COUNTED``).

A gate that passes on nothing fails: a cell of BASE that NEW lacks (an environment that produced
nothing, a truncated or unreadable rows file, a row NEW could not read) is "missing", and the command
exits 3 (``MISSING``), unless ``--envs`` names the environments NEW is expected to hold: then only
those must be complete. A cell whose case NEW's catalogue no longer has is gone, not missing.
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
from matrix.views.opsets import COUNTED, WITH_REPLAYS, cells, env_counts

KEEP = ["env_id", "cell", "status_base", "status_new", "error_new"]
# past this many regressions they are listed by group (triage's error signatures), not cell by cell: an op
# corpus regresses by the hundred when one kernel goes, and one line per cell hides what went
CELL_LINES = 20
MISSING = 3  # the exit status when cells of BASE are missing or unreadable in NEW (1 is a regression, 2 bad input)


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
    missing: dict[str, int] = dataclasses.field(default_factory=dict)  # env id -> cells of BASE missing in NEW

    @property
    def missing_text(self) -> str:
        """``12 cell(s) of base missing in new (torch-2.13.0: 10, torch-1.4.0: 2 ...)``, or ""."""
        if not self.missing:
            return ""
        where = ", ".join(f"{env}: {'no rows at all' if n < 0 else n}" for env, n in sorted(self.missing.items()))
        return f"{sum(max(n, 0) for n in self.missing.values())} cell(s) of base missing in new ({where})"

    @property
    def counts(self) -> dict[str, dict]:
        """NEW's cells per environment, as every page counts them (``opsets.env_counts``)."""
        return env_counts(self.new_view) if not self.new_view.empty else {}


def _cells(view: pd.DataFrame) -> pd.DataFrame:
    """A side's cells by the opset of their file; ``cell`` is that cell's key (the row's own id is ``row_cell``)."""
    found = cells(view)
    return found.assign(row_cell=found["cell"], cell=found["cell_key"]) if not found.empty else found


def load_side(ref: str, out: Path) -> tuple[pd.DataFrame, list[str], set[str]]:
    """The current view of a run id, a run folder, or a whole out folder (results/, reports/), what could
    not be read, and the case ids its catalogues hold."""
    path = Path(ref)
    if path.is_dir() and (path / RUNS).is_dir():
        results = Results(path)
        return _cells(current_view(results.rows())), results.problems, set(results.catalogue())
    results = Results(out)
    run = results.run(ref)  # a run id under out, or a run folder; ResultsError names both when neither
    if run.out != out:
        results = Results(run.out)
    return _cells(current_view(results.rows([run]))), results.problems, set(results.catalogue())


def missing_cells(before: pd.DataFrame, after: pd.DataFrame, cases: set[str],
                  envs: list[str] | None) -> dict[str, int]:
    """Per environment expected in NEW (``envs``, default every one of BASE), how many cells of BASE it lacks;
    -1 for one with no rows at all. Skipped cells and cells of cases NEW's catalogue dropped do not count."""
    wanted = before[before["status"] != SKIP] if not before.empty else before
    if cases and not wanted.empty:
        wanted = wanted[wanted["case"].isin(cases)]
    expected = envs if envs is not None else sorted(set(wanted["env_id"])) if not wanted.empty else []
    have = set(zip(after["env_id"], after["cell"])) if not after.empty else set()
    present = set(after["env_id"]) if not after.empty else set()
    missing = {}
    for env_id in expected:
        if env_id not in present:
            missing[env_id] = int((wanted["env_id"] == env_id).sum()) if not wanted.empty else 0
            missing[env_id] = missing[env_id] or -1
            continue
        cells = wanted[wanted["env_id"] == env_id]["cell"] if not wanted.empty else []
        count = sum(1 for cell in cells if (env_id, cell) not in have)
        if count:
            missing[env_id] = count
    return missing


def compare_runs(out: Path, base: str, new: str, envs: list[str] | None = None) -> Comparison:
    before, p1, _ = load_side(base, out)
    after, p2, cases = load_side(new, out)
    missing = missing_cells(before, after, cases, envs)
    empty = pd.DataFrame(columns=KEEP)
    if before.empty or after.empty:
        return Comparison(base, new, empty, empty, empty, len(before), len(after), p1 + p2, after, missing)
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
                      p1 + p2, after, missing)


def regression_groups(result: Comparison) -> list[dict]:
    """The regressions grouped as ``triage`` groups op failures: by status and error signature, each with its
    title, ops and dtypes, filter and example (whose reproduction command names NEW where it is a folder)."""
    view = result.new_view
    if result.regressions.empty or view.empty:
        return []
    from matrix.views.optriage import group_failures, with_op_axes
    # compare keys a cell by its file's opset (cell_key); triage and repro by the row's own id
    cells = view.assign(cell=view["row_cell"]) if "row_cell" in view else view
    keys = set(zip(result.regressions["env_id"], result.regressions["cell"]))
    only = {(e, r) for e, k, r in zip(view["env_id"], view["cell"], cells["cell"]) if (e, k) in keys}
    new = Path(result.new)
    return group_failures(with_op_axes(cells), only=only, out=new if new.is_dir() else None)


def print_comparison(result: Comparison) -> None:
    for problem in result.problems:
        print(f"skipped: {problem}")
    print(f"{result.base} -> {result.new}: {len(result.regressions)} regression(s), "
          f"{len(result.improvements)} improvement(s), {len(result.changed)} changed case(s) "
          f"(not compared), {result.only_base} cell(s) only in base, {result.only_new} only in new")
    if result.missing:
        print(f"  MISSING: {result.missing_text}: the comparison is incomplete")
    for env_id, count in sorted(result.counts.items()):
        print(f"  {env_id}: {count['cells']} {COUNTED}, {count['passed']} pass; {count['with_replays']} {WITH_REPLAYS}")
    groups = regression_groups(result) if len(result.regressions) > CELL_LINES else []
    for number, group in enumerate(groups, 1):
        print(f"  REGRESSION {number}: {group['cells']} cell(s) -> {group['status']}: {group['title']} "
              f"[{', '.join(group['envs'])}; {len(group['ops'])} op(s): {', '.join(group['ops'][:8])}"
              f"{' …' if len(group['ops']) > 8 else ''}]\n      e.g. {group['example']['cell']}")
    for title, frame in (("REGRESSION", result.regressions if not groups else result.regressions.iloc[0:0]),
                         ("improved", result.improvements)):
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
    if result.missing:
        lines += [f"**Incomplete: {result.missing_text}.**", ""]
    if result.problems:
        lines += ["Not readable:", "", *[f"- {p[:300]}" for p in result.problems[:20]], ""]
    view = result.new_view
    if not view.empty:
        lines += [f"**cells**: the {COUNTED} (each exported file on each runtime once); the last column adds the "
                  "replays of its files by another environment's runtimes.", "",
                  "| environment | cells | pass | failing as expected | not as expected | with replays |",
                  "|---|---|---|---|---|---|"]
        counts = result.counts
        own = view[(view["status"] != SKIP) & (view["runtime_env"].fillna("") == "")]
        for env_id, rows in own.groupby("env_id"):
            unexpected = int(rows["verdict"].isin(NOT_AS_EXPECTED).sum())
            expected_fail = int(((rows["status"] != PASS) & (rows["verdict"] == Verdict.AS_EXPECTED.value)).sum())
            lines.append(f"| {env_id} | {len(rows)} | {int((rows['status'] == 'pass').sum())} | {expected_fail} | "
                         f"{unexpected} | {counts.get(str(env_id), {}).get('with_replays', len(rows))} |")
        lines.append("")
    groups = regression_groups(result) if len(result.regressions) > CELL_LINES else []
    if groups:
        lines += [f"### Regressions: {len(result.regressions)} cell(s) in {len(groups)} group(s)", "",
                  "| cells | now | what | ops | environments | example |", "|---|---|---|---|---|---|"]
        cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
        for group in groups[:50]:
            ops = ", ".join(group["ops"][:6]) + (f" +{len(group['ops']) - 6}" if len(group["ops"]) > 6 else "")
            lines.append(f"| {group['cells']} | {group['status']} | {cell(group['title'])} | {cell(ops)} | "
                         f"{', '.join(group['envs'])} | `{cell(group['example']['cell'])}` |")
        lines += ([f"| … | | {len(groups) - 50} more group(s) | | | |"] if len(groups) > 50 else []) + [""]
    for title, frame in (("Regressions", result.regressions if not groups else result.regressions.iloc[0:0]),
                         ("Improvements", result.improvements)):
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

