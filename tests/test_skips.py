"""Columns not applicable here: decided once per column, recorded once, read back once."""
from __future__ import annotations

import json

from matrix.run.jobs import EnvOutcome, Job
from matrix.run.skips import Skips
from matrix.wire import Cell

CAPS = {"exporters": {"torchscript": {"torch": "2.13.0", "max_opset": 20, "parameters": []},
                      "dynamo": {"missing": "no dynamo exporter in torch 1.4"}},
        "runtimes": {"ort-cpu": {"version": "1.32.0", "providers": ["CPUExecutionProvider"]}}}


def _job(case: str, exporter: str, opset: int = 18) -> Job:
    return Job(Cell(case, "default", exporter, opset, "onnxruntime", "CPUExecutionProvider", {}))


def test_a_column_is_decided_once_and_recorded_once(tmp_path):
    skips = Skips(tmp_path / "e.skips.json")
    said = []
    jobs = [_job(c, e, o) for c in ("a", "b", "c") for e in ("torchscript", "dynamo") for o in (18, 21)]
    runnable, skipped = skips.decide(jobs, CAPS, "e", said.append)
    assert [(j.cell.exporter, j.cell.opset) for j in runnable] == [("torchscript", 18)] * 3
    assert skipped == 9
    recorded = json.loads((tmp_path / "e.skips.json").read_text())
    assert recorded["env_id"] == "e" and sorted(c["cells"] for c in recorded["columns"]) == [3, 3, 3]
    assert len(said) == 2  # one line per reason, not per cell
    again = Skips(tmp_path / "e.skips.json")
    assert again.cells() == 9 and len(again.decided()) == 3


def test_an_unreadable_record_is_decided_again_not_a_crash(tmp_path):
    (tmp_path / "e.skips.json").write_text("{not json")
    assert Skips(tmp_path / "e.skips.json").cells() == 0
    (tmp_path / "e.skips.json").write_text(json.dumps({"columns": ["a string", {"cells": 2}]}))
    assert Skips(tmp_path / "e.skips.json").cells() == 2


def test_skips_count_once_in_the_outcome():
    outcome = EnvOutcome("e", "r", None)
    outcome.count_skips(0)
    assert outcome.statuses == {} and outcome.verdicts == {}
    outcome.count_skips(4)
    assert outcome.skipped == 4 and outcome.statuses == {"skip": 4} and outcome.verdicts == {"as-expected": 4}
