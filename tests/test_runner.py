"""The host's isolation of faults, with the real worker on the fake corpus."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from conftest import FAKE_CASES, FLAKY_CASES, REAL_CASES

from matrix.results.rows import read_rows
from matrix.results.store import list_runs
from matrix.run.plan import Selection
from matrix.run.runner import EnvRunner
from matrix.wire import SCHEMA_VERSION

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
    assert row["schema_version"] == SCHEMA_VERSION and row["verdict"] == "as-expected"
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


def test_the_untrained_network_diverges_far_beyond_its_tolerance(worker_python, tmp_path):
    """S11 as a property of the model: the chaotic network's outputs share nothing with eager PyTorch's,
    the contracting one's agree to float32 rounding, on any runtime and CPU."""
    runner = EnvRunner("here", worker_python, tmp_path, Selection(cases="numeric_divergence", opsets=(11,),
                       exporters=("torchscript",), runtimes=("ort-cpu", "reference")), [REAL_CASES], time_budget_s=0.05)
    rows, _ = read_rows(runner.run().rows_file)
    by = {(r["variant"], r["runtime"]): r for r in rows}
    for runtime in ("onnxruntime", "reference"):
        chaotic, contracting = by[("default", runtime)], by[("workaround", runtime)]
        assert chaotic["status"] == "diverge" and chaotic["verdict"] == "as-expected"
        assert chaotic["max_abs_err"] > 1000 * chaotic["atol"]  # not a rounding accident: order 1 on outputs in -1..1
        assert chaotic["min_passing_atol"] == chaotic["max_abs_err"] and chaotic["max_rel_err"] is not None
        assert contracting["status"] == "pass" and contracting["max_abs_err"] < contracting["atol"] / 100


def test_a_divergence_at_the_second_batch_size_is_a_divergence(worker_python, tmp_path):
    """batch-fail means "does not run at another batch size"; wrong numbers there are diverge, and say where."""
    runner = EnvRunner("here", worker_python, tmp_path, Selection(cases="view_bakes_batch|batch_dynamic_axes",
                       opsets=(11,), exporters=("torchscript",), runtimes=("ort-cpu",)), [REAL_CASES],
                       time_budget_s=0.05)
    rows, _ = read_rows(runner.run().rows_file)
    by = {(r["case"], r["variant"], r["dynamic_axes"]): r for r in rows}
    baked = by[("view_bakes_batch", "default", True)]
    assert baked["status"] == "diverge" and baked["stage"] == "compare"
    assert baked["error"].startswith("at batch size 3: output 0 has shape (2, 18)")
    refused = by[("batch_dynamic_axes", "default", False)]
    assert refused["status"] == "batch-fail" and "invalid dimensions" in refused["error"]


def test_an_unexpected_cell_is_run_again_before_it_counts(worker_python, tmp_path):
    marker = tmp_path / "flips.marker"
    os.environ["MATRIX_TEST_FLAKY_MARKER"] = str(marker)
    try:
        runner = EnvRunner("fake", worker_python, tmp_path / "out", SELECTION, [FLAKY_CASES], time_budget_s=0.05)
        outcome = runner.run()
    finally:
        del os.environ["MATRIX_TEST_FLAKY_MARKER"]
    rows, problems = read_rows(outcome.rows_file)
    by = {(r["case"], r["runtime"]): r for r in rows}
    assert problems == [] and len(rows) == 4 == outcome.planned
    flips = by[("flips", "onnxruntime")]
    # first run: build-fail; second, from a clean slate with a fresh build: pass. Neither a regression nor a pass
    assert flips["status"] == "flaky" and flips["verdict"] == "flaky" and flips["attempts"] == 2
    # a build that raised is no death and no state change: the same worker confirms it, no new process
    assert flips["retry_where"] == "same worker" and "second run (same worker): pass" in flips["error"]
    assert flips["retry_status"] == "pass" and "first run: build-fail: first run fails" in flips["error"]
    broken = by[("always_fails", "onnxruntime")]
    assert broken["status"] == "build-fail" and broken["verdict"] == "regression"
    assert broken["attempts"] == 2 and broken["retry_status"] == "build-fail" and broken["retry_where"] == "same worker"
    # the retry built flips again, and passed: its other runtime's cell then ran on that build, and passed
    other = by[("flips", "reference")]
    assert other["status"] == "pass" and other["verdict"] == "as-expected" and other.get("attempts") is None
    assert outcome.verdicts == {"flaky": 1, "as-expected": 1, "regression": 2} and outcome.confirmed == 3
    assert not list(outcome.rows_file.parent.glob("*.unconfirmed.jsonl")), "nothing is left pending"


def test_a_row_of_an_edited_case_is_stale_and_not_resumed(worker_python, tmp_path):
    corpus = tmp_path / "stale_cases"
    shutil.copytree(FAKE_CASES, corpus)
    selection = Selection(**{**SELECTION.__dict__, "cases": "passes"})
    first = EnvRunner("fake", worker_python, tmp_path / "out", selection, [corpus], time_budget_s=0.05).run()
    list_runs(tmp_path / "out")[-1].state_file("fake").write_text('{"status": "running"}')  # as if interrupted
    (corpus / "passes.py").write_text((corpus / "passes.py").read_text() + "\n# edited\n")
    logged = []
    second = EnvRunner("fake", worker_python, tmp_path / "out", selection, [corpus], time_budget_s=0.05,
                       log=logged.append).run()
    assert second.run_id == first.run_id and second.resumed == 0 and second.ran == 2
    assert any("older version of their case" in line for line in logged)
    rows, _ = read_rows(second.rows_file)
    assert len({r["case_hash"] for r in rows}) == 2  # the old rows stay; the newest answer the edited case


def test_an_extra_worker_starts_only_when_the_cells_left_pay_for_its_start(tmp_path, monkeypatch):
    import collections

    import matrix.run.runner as runner_module
    monkeypatch.setattr(runner_module, "free_cores", lambda: 1.0)  # a quiet machine, whatever this one's load

    from matrix.results.store import RunDir
    from matrix.run.jobs import EnvOutcome, Job, Pass, Target
    from matrix.run.lanes import Slots
    from matrix.wire import Cell
    runner = EnvRunner("e", "python", tmp_path, SELECTION, [FAKE_CASES], slots=Slots(2))
    runner.lanes[0].hello = {"start_s": {"imports": 2.0, "warm_up": 4.0, "spawn_to_hello": 6.5}}
    shared = Pass(Target(RunDir(tmp_path, "r"), "e"), {}, EnvOutcome("e", "r", tmp_path / "e.jsonl"), {}, 0, 100)
    job = Job(Cell("c", "default", "torchscript", 11, "onnxruntime", "CPUExecutionProvider", {}))
    groups = collections.deque([[job] * 10 for _ in range(3)])  # 30 cells in 3 cases
    assert not runner._worth_a_lane(groups, shared), "nothing measured yet"
    for _ in range(3):
        shared.took({"duration_s": 0.1})
    assert not runner._worth_a_lane(groups, shared), "30 cells of 0.1 s: 1.5 s saved against a 6.5 s start"
    for _ in range(3):
        shared.took({"duration_s": 0.7})  # 0.4 s a cell on average: half of 30 cells is 6 s, under the start
    assert not runner._worth_a_lane(groups, shared)
    shared.took({"duration_s": 3.3})  # now 0.8 s a cell: half of 30 cells is 12 s, over a 6.5 s start
    assert runner._worth_a_lane(groups, shared)
    monkeypatch.setattr(runner_module, "free_cores", lambda: 0.2)  # every core busy: it could not run beside
    assert not runner._worth_a_lane(groups, shared)
    runner.slots = None  # one worker asked for: never
    assert not runner._worth_a_lane(groups, shared)
