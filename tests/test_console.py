"""The run's closing lines: cells that apply here are counted apart from columns not applicable here."""
from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from matrix.run.console import Console, outcome_status
from matrix.run.jobs import EnvOutcome


def _outcome() -> EnvOutcome:
    outcome = EnvOutcome("torch-1.4.0", "r1", Path("rows.jsonl"), planned=10, ran=4, reused=1)
    outcome.statuses = Counter({"pass": 3, "export-fail": 2})
    outcome.verdicts = Counter({"as-expected": 5})
    outcome.count_skips(5)  # a column this torch cannot run: no rows
    return outcome


def test_the_summary_line_counts_cells_that_apply_and_names_the_rest_apart(capsys):
    assert outcome_status(_outcome()) == 0
    line = capsys.readouterr().err
    assert "r1: 5 cells (4 run now, 1 reused, 0 resumed)" in line
    assert "2 export-fail, 3 pass; 5 as-expected (and 5 not applicable here" in line
    assert "skip" not in line.split("(and")[0]


def test_the_piped_summary_table_is_not_cut_to_80_columns():
    stream = io.StringIO()
    outcome = _outcome()
    outcome.statuses.update({s: 11111 for s in ("run-fail", "load-fail", "diverge", "crash", "timeout", "build-fail")})
    console = Console(stream)
    console.end(outcome)
    console.close()
    text = stream.getvalue()
    assert "…" not in text and "not applicable" in text and "11111" in text, text
