"""Regressions between two runs: a cell whose status got worse, by cell id."""
from __future__ import annotations

from matrix.results.rows import append_row
from matrix.results.store import RunDir
from matrix.views.compare import compare_runs
from matrix.wire import Row


def write_run(out, run_id, statuses):
    run = RunDir(out, run_id)
    for cell, status in statuses.items():
        append_row(run.rows_file("e"), Row(run_id=run_id, env_id="e", cell=cell, case="c", variant="default",
                                           exporter="torchscript", runtime="onnxruntime", status=status,
                                           error=f"{status} error").to_dict())


def test_worse_better_and_unmatched_cells(tmp_path):
    write_run(tmp_path, "a", {"c1": "pass", "c2": "load-fail", "c3": "pass", "gone": "pass"})
    write_run(tmp_path, "b", {"c1": "crash", "c2": "pass", "c3": "pass", "new": "pass"})
    result = compare_runs(tmp_path, "a", "b")
    assert list(result.regressions["cell"]) == ["c1"]
    assert list(result.improvements["cell"]) == ["c2"]
    assert (result.only_base, result.only_new) == (1, 1)


def test_compare_command_exits_1_on_a_regression_and_0_otherwise(tmp_path):
    import subprocess
    import sys

    from conftest import REPO
    write_run(tmp_path, "a", {"c1": "pass", "c2": "pass"})
    write_run(tmp_path, "b", {"c1": "pass", "c2": "pass"})
    write_run(tmp_path, "c", {"c1": "crash", "c2": "pass"})
    run = lambda *ids: subprocess.run([sys.executable, "-m", "matrix", "compare", *ids, "--out", str(tmp_path)],
                                      cwd=REPO, capture_output=True, text=True)
    same, worse = run("a", "b"), run("a", "c")
    assert same.returncode == 0 and "0 regression(s)" in same.stdout
    assert worse.returncode == 1 and "REGRESSION: [e] c1: pass -> crash" in worse.stdout
