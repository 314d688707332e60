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


def compare_command(out, *args):
    import subprocess
    import sys

    from conftest import REPO
    return subprocess.run([sys.executable, "-m", "matrix", "compare", *args, "--out", str(out)], cwd=REPO,
                          capture_output=True, text=True)


def write_env(out, run_id, env_id, cells):
    run = RunDir(out, run_id)
    for cell in cells:
        append_row(run.rows_file(env_id), Row(run_id=run_id, env_id=env_id, cell=cell, case="c", variant="default",
                                              exporter="torchscript", runtime="onnxruntime", status="pass").to_dict())
    return run


def test_an_empty_new_side_fails_the_gate_with_its_own_exit_code(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    write_env(base, "a", "e", ["c1", "c2"])
    (new / "runs").mkdir(parents=True)
    done = compare_command(tmp_path, str(base), str(new), "--markdown", str(tmp_path / "m.md"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "MISSING: 2 cell(s) of base missing in new (e: 2)" in done.stdout
    assert "Incomplete: 2 cell(s) of base missing in new" in (tmp_path / "m.md").read_text()


def test_an_environment_absent_from_new_fails_unless_not_expected(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    write_env(base, "a", "e", ["c1"])
    write_env(base, "a", "f", ["c1", "c2"])
    write_env(new, "b", "e", ["c1"])
    absent = compare_command(tmp_path, str(base), str(new))
    assert absent.returncode == 3 and "(f: 2)" in absent.stdout, absent.stdout
    assert compare_command(tmp_path, str(base), str(new), "--envs", "e").returncode == 0
    named = compare_command(tmp_path, str(base), str(new), "--envs", "e,g")
    assert named.returncode == 3 and "g: no rows at all" in named.stdout, named.stdout


def test_a_truncated_rows_file_fails_the_gate(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    write_env(base, "a", "e", ["c1", "c2", "c3"])
    run = write_env(new, "b", "e", ["c1", "c2", "c3"])
    data = run.rows_file("e").read_bytes()
    run.rows_file("e").write_bytes(data[: len(data) * 2 // 3 - 5])  # cut inside the second row
    done = compare_command(tmp_path, str(base), str(new))
    assert done.returncode == 3 and "torn last line" in done.stdout and "missing in new" in done.stdout, done.stdout


def test_rows_with_ids_of_the_wrong_type_are_named_not_a_crash(tmp_path):
    import json
    base, new = tmp_path / "base", tmp_path / "new"
    write_env(base, "a", "e", ["c1", "c2"])
    run = write_env(new, "b", "e", ["c1"])
    row = Row(run_id="b", env_id="e", cell=["c2"], case="c", variant="default", exporter="torchscript",
              runtime="onnxruntime", status="pass").to_dict()
    with open(run.rows_file("e"), "a") as handle:
        handle.write(json.dumps(row) + "\n")
        handle.write(json.dumps({**row, "cell": "c3", "case": {"a": 1}}) + "\n")
    done = compare_command(tmp_path, str(base), str(new))
    assert "unhashable" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 3, done.stdout + done.stderr
    assert "e.jsonl:2: fields of the wrong type (cell is list)" in done.stdout, done.stdout
    assert "e.jsonl:3: fields of the wrong type (case is dict)" in done.stdout


def test_a_complete_new_side_still_exits_0_or_1(tmp_path):
    write_run(tmp_path, "a", {"c1": "pass", "c2": "pass"})
    write_run(tmp_path, "b", {"c1": "crash", "c2": "pass", "c3": "pass"})
    assert compare_command(tmp_path, "a", "b").returncode == 1
    assert compare_command(tmp_path, "a", "a").returncode == 0


def write_op_run(out, run_id, failing):
    """An op corpus's run: tril and triu in two dtypes at opsets 9-20; ``failing`` cells fail with onnxruntime's
    missing Trilu kernel (their node names differ, as a real run's do)."""
    run = RunDir(out, run_id)
    for op in ("tril", "triu"):
        for dtype in ("float32", "int32"):
            for opset in range(9, 21):
                case = f"{op}.{dtype}"
                fails = (case, opset) in failing
                append_row(run.rows_file("torch-2.13.0"), Row(
                    run_id=run_id, env_id="torch-2.13.0", case=case, variant="default", exporter="torchscript",
                    cell=f"{case}/default/torchscript/opset{opset}/default/onnxruntime/CPUExecutionProvider",
                    opset_requested=opset, opset_actual=opset, runtime="onnxruntime", provider="CPUExecutionProvider",
                    status="load-fail" if fails else "pass", torch="2.13.0", finished_at=f"t{opset}",
                    error=(f"[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for "
                           f"Trilu(14) node with name '/Trilu_{opset}'") if fails else None).to_dict())


def test_many_op_regressions_are_listed_by_group_not_cell_by_cell(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    write_op_run(base, "a", set())
    broken = {(f"{op}.{dtype}", opset) for op in ("tril", "triu") for dtype in ("float32", "int32")
              for opset in range(14, 20)}  # 24: past the 20 regressions listed one line each
    write_op_run(new, "b", broken)
    done = compare_command(tmp_path, str(base), str(new), "--markdown", str(tmp_path / "m.md"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "24 regression(s)" in done.stdout
    assert ("REGRESSION 1: 24 cell(s) -> load-fail: onnxruntime has no Trilu(14) kernel for float32, int32 "
            "[torch-2.13.0; 2 op(s): tril, triu]") in done.stdout
    assert "REGRESSION: [" not in done.stdout, "no line per cell"
    markdown = (tmp_path / "m.md").read_text()
    assert "### Regressions: 24 cell(s) in 1 group(s)" in markdown
    assert ("| 24 | load-fail | onnxruntime has no Trilu(14) kernel for float32, int32 | tril, triu | torch-2.13.0 |"
            in markdown)
    assert markdown.count("\n- `torch-2.13.0`") == 0


def test_a_few_regressions_stay_one_line_each(tmp_path):
    base, new = tmp_path / "base", tmp_path / "new"
    write_op_run(base, "a", set())
    write_op_run(new, "b", {("tril.int32", 14), ("triu.int32", 14)})
    done = compare_command(tmp_path, str(base), str(new), "--markdown", str(tmp_path / "m.md"))
    assert done.returncode == 1 and done.stdout.count("REGRESSION: [torch-2.13.0]") == 2, done.stdout
    assert "\n- `torch-2.13.0` `tril.int32/" in (tmp_path / "m.md").read_text()
