"""The host's isolation of faults, with the real worker on the fake corpus."""
from __future__ import annotations

import signal
from pathlib import Path

from conftest import FAKE_CASES
from matrix.plan import Selection
from matrix.runner import EnvRunner
from matrix.store import list_runs, read_rows

SELECTION = Selection(opsets=(11,), exporters=("torchscript",), runtimes=("ort-cpu", "reference"))


def run_fake(worker_python: str, out: Path, cases: str = ".*", timeout: float = 60.0):
    runner = EnvRunner("fake", worker_python, out, Selection(**{**SELECTION.__dict__, "cases": cases}),
                       [FAKE_CASES], timeout_s=timeout, time_budget_s=0.05)
    outcome = runner.run()
    rows, problems = read_rows(outcome.rows_file)
    assert problems == []
    return outcome, {(r["case"], r["runtime"]): r for r in rows}


def test_each_fault_costs_only_its_own_cells(worker_python, tmp_path):
    outcome, rows = run_fake(worker_python, tmp_path)
    assert outcome.planned == 8 and len(rows) == 8
    assert rows[("passes", "onnxruntime")]["status"] == "pass"
    assert rows[("passes", "onnxruntime")]["batch_sizes"] == [1, 2]
    assert rows[("raises", "onnxruntime")]["status"] == "build-fail"
    assert "broken on purpose" in rows[("raises", "onnxruntime")]["error"]
    crash = rows[("aborts", "onnxruntime")]
    assert crash["status"] == "crash" and crash["stage"] == "build"
    assert signal.Signals.SIGABRT.name in crash["error"]
    # the second runtime of the same export is not retried: same status, says where it came from
    assert rows[("aborts", "reference")]["status"] == "crash"
    assert "not retried" in rows[("aborts", "reference")]["error"]
    hang = rows[("sleeps", "onnxruntime")]
    assert hang["status"] == "timeout" and "3 s" in hang["error"] and hang["stage"] == "build"


def test_rows_carry_versions_and_schema(worker_python, tmp_path):
    _, rows = run_fake(worker_python, tmp_path, cases="passes")
    row = rows[("passes", "onnxruntime")]
    for key in ("python", "torch", "onnx", "onnxruntime", "numpy", "protobuf", "run_id", "case_hash"):
        assert row[key], key
    assert row["schema_version"] == 1 and row["verdict"] == "as-expected"
    assert row["latency_ms"] > 0 and row["eager_ms"] > 0


def test_same_command_resumes_without_rerunning(worker_python, tmp_path):
    first, _ = run_fake(worker_python, tmp_path, cases="passes|raises")
    rows_file = first.rows_file
    lines = rows_file.read_text().splitlines(keepends=True)
    # as if killed after two cells, mid-way through writing the third
    rows_file.write_text("".join(lines[:2]) + lines[2][:40])
    state = list_runs(tmp_path)[-1].state_file("fake")
    state.write_text('{"status": "running"}')
    second, rows = run_fake(worker_python, tmp_path, cases="passes|raises")
    assert second.run_id == first.run_id
    assert second.resumed == 2 and second.ran == 2
    cells = [line for line in rows_file.read_text().splitlines()]
    assert len(cells) == 4 and len(set(cells)) == 4


def test_a_diverging_cell_keeps_its_error_numbers(worker_python, tmp_path):
    """S11 is about how far outputs diverge: the row carries max abs/rel error and the atol that would pass."""
    from conftest import REAL_CASES
    runner = EnvRunner("here", worker_python, tmp_path, Selection(cases="numeric_divergence/default", opsets=(11,),
                       exporters=("torchscript",), runtimes=("ort-cpu",)), [REAL_CASES], time_budget_s=0.05)
    outcome = runner.run()
    rows, _ = read_rows(outcome.rows_file)
    row = rows[0]
    assert row["status"] == "diverge"
    assert row["max_abs_err"] > row["atol"] and row["min_passing_atol"] >= row["max_abs_err"] * 0.5
    assert row["max_rel_err"] is not None
