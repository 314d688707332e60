"""Fault injection: each fault costs its own cells only, nothing computed is lost, nothing is duplicated."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import FAKE_CASES, REPO

from matrix.results.rows import read_rows
from matrix.run.plan import Selection
from matrix.run.runner import EnvRunner
from matrix.views.report import render_report

TESTS = Path(__file__).resolve().parent
ONE_EXPORT_TWO_RUNTIMES = Selection(opsets=(11,), exporters=("torchscript",), runtimes=("ort-cpu", "reference"))


def run(worker_python, out, case_dirs=(FAKE_CASES,), cases=".*", memory_limit_mb=0, **env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        runner = EnvRunner("fake", worker_python, out, Selection(**{**ONE_EXPORT_TWO_RUNTIMES.__dict__, "cases": cases}),
                           list(case_dirs), timeout_s=60, time_budget_s=0.05, memory_limit_mb=memory_limit_mb)
        outcome = runner.run()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    rows, problems = read_rows(outcome.rows_file)
    assert problems == []
    return outcome, {(r["case"], r["runtime"]): r for r in rows}


def test_segfault_in_export_costs_that_export(worker_python, tmp_path):
    _, rows = run(worker_python, tmp_path, cases="passes", MATRIX_INJECT_FAULT="passes:export:segv")
    for runtime in ("onnxruntime", "reference"):
        row = rows[("passes", runtime)]
        assert row["status"] == "crash" and row["stage"] == "export" and "SIGSEGV" in row["error"]


def test_segfault_in_run_costs_only_that_runtime(worker_python, tmp_path):
    os.environ.pop("MATRIX_INJECT_FAULT", None)
    outcome, rows = run(worker_python, tmp_path, cases="passes|raises",
                        MATRIX_INJECT_FAULT="passes:run:segv")
    assert outcome.planned == 4 and len(rows) == 4  # zero cells lost beyond the faulty ones
    # the first runtime's run crashes; the export on disk is reused by the restarted worker
    crashed = [r for r in rows.values() if r["status"] == "crash"]
    assert len(crashed) == 2 and all(r["stage"] == "run" and "SIGSEGV" in r["error"] for r in crashed)
    assert rows[("raises", "onnxruntime")]["status"] == "build-fail"


def test_memory_blow_up_fails_the_cell_not_the_host(worker_python, tmp_path):
    outcome, rows = run(worker_python, tmp_path, cases="passes|raises", memory_limit_mb=4096,
                        MATRIX_INJECT_FAULT="passes:build:oom")
    row = rows[("passes", "onnxruntime")]
    assert row["status"] == "build-fail" and row["error_type"] == "MemoryError"
    assert rows[("raises", "reference")]["status"] == "build-fail"
    assert len(rows) == outcome.planned == 4


def test_hang_kills_the_whole_process_tree(worker_python, tmp_path):
    pidfile = tmp_path / "child.pid"
    _, rows = run(worker_python, tmp_path / "out", case_dirs=(TESTS / "tree_cases",),
                  MATRIX_TEST_PIDFILE=str(pidfile))
    assert rows[("spawns_child", "onnxruntime")]["status"] == "timeout"
    child = int(pidfile.read_text())
    deadline = time.time() + 10
    while time.time() < deadline and _alive(child):
        time.sleep(0.2)
    assert not _alive(child), "the hung case's child outlived the timeout"


def _workers_under(folder: Path) -> list[int]:
    """Worker processes whose command line names this test's folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "matrix.worker" in cmdline and str(folder) in cmdline and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_bad_cases_are_named_and_the_rest_run(worker_python, tmp_path):
    outcome, rows = run(worker_python, tmp_path, case_dirs=(TESTS / "bad_cases",))
    errors = "\n".join(outcome.broken_cases)
    assert "syntax_error.py: syntax error at line 3" in errors
    assert "no_build.py: defines no build() function" in errors
    assert "wrong_meta.py: Case.atol must be float or int" in errors or "wrong_meta.py: Case.atol must be" in errors
    assert {case for case, _ in rows} == {"fine"} and rows[("fine", "onnxruntime")]["status"] == "pass"
    # the report renders, lists the broken cases with what is wrong, and gives each a page
    index, _ = render_report(tmp_path)
    html = index.read_text()
    assert "bad_cases/syntax_error.py: syntax error at line 3" in html and "no_build.py: defines no build()" in html
    assert "syntax error at line 3" in (tmp_path / "cases" / "syntax_error.html").read_text()


def matrix_cli(worker_python, out, *args, env=None, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "fake",
                             "--out", str(out), "--cases-dir", str(FAKE_CASES), "--no-report", *args],
                            cwd=REPO, env={**os.environ, **(env or {})}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_duplicate_ids_run_nothing_and_name_both_files(worker_python, tmp_path):
    proc = matrix_cli(worker_python, tmp_path, "--cases-dir", str(TESTS / "dup_cases"), *FAST)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert "fake_cases/passes.py" in err and "dup_cases/passes.py" in err and "defined twice" in err
    assert not list(tmp_path.glob("runs/*/*.jsonl"))


FAST = ["--exporters", "torchscript", "--opsets", "11", "--runtimes", "ort-cpu,reference", "--time-budget", "0.05",
        "--allow-regressions"]
# passes: 6 quick cells; sleeps: 6 cells whose build hangs (its CASE.timeout is 3 s)
KILLABLE = ["--cases", "passes|sleeps", "--exporters", "torchscript", "--opsets", "9,11,13", "--runtimes",
            "ort-cpu,reference", "--time-budget", "0.05"]


def test_kill_9_of_the_whole_run_then_the_same_command_resumes(worker_python, tmp_path):
    proc = matrix_cli(worker_python, tmp_path, *KILLABLE)
    deadline = time.time() + 240
    rows_file = None
    while time.time() < deadline:
        files = list(tmp_path.glob("runs/*/fake.jsonl"))
        if files and len(files[0].read_text().splitlines()) >= 6:
            rows_file = files[0]
            break
        time.sleep(0.1)
    assert rows_file is not None, proc.communicate()[1]
    time.sleep(1)  # the worker is now inside the hanging build
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, mid-way (the worker leads its own group)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _workers_under(tmp_path):
        time.sleep(0.2)
    assert not _workers_under(tmp_path), "the worker outlived its host"
    assert len(rows_file.read_text().splitlines()) == 6
    again = matrix_cli(worker_python, tmp_path, *KILLABLE)
    _, err = again.communicate(timeout=600)
    assert "resuming run" in err and "6 of 12 cells already done" in err
    rows, problems = read_rows(rows_file)
    cells = [r["cell"] for r in rows]
    assert len(cells) == 12 and len(set(cells)) == 12, "a row was lost or duplicated"
    assert len(list(tmp_path.glob("runs/*/fake.jsonl"))) == 1
    hangs = [r for r in rows if r["case"] == "sleeps"]
    # one timeout, and its siblings share it instead of hanging again
    assert sum(r["status"] == "timeout" for r in hangs) == 6
    assert sum("not retried" in r["error"] for r in hangs) == 5


def test_concurrent_runs_into_one_out_dir(worker_python, tmp_path):
    procs = [matrix_cli(worker_python, tmp_path, "--cases", "passes|raises", *FAST) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    files = list(tmp_path.glob("runs/*/fake.jsonl"))
    assert len(files) == 2  # the second process did not write into the run the first was writing
    for path in files:
        rows, problems = read_rows(path)
        assert problems == [] and len(rows) == 4 and len({r["cell"] for r in rows}) == 4


def test_html_in_an_error_is_shown_as_text(worker_python, tmp_path):
    _, rows = run(worker_python, tmp_path, cases="raises")
    assert "<script>alert(1)</script>" in rows[("raises", "onnxruntime")]["error"]
    index, _ = render_report(tmp_path)
    html = index.read_text() + (tmp_path / "cases" / "raises.html").read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
