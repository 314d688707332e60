"""Nothing changed, nothing re-run; not-applicable is not work; a run you can watch; environments at once."""
from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAKE_CASES, REPO

from matrix.envs.lineup import load_lineup
from matrix.results.read import Results
from matrix.results.rows import read_rows
from matrix.results.store import list_runs

FAST = ["--exporters", "torchscript,dynamo", "--opsets", "11", "--runtimes", "ort-cpu,reference,caffe2",
        "--time-budget", "0.02", "--no-report"]


def matrix(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matrix", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "fake_cases"
    shutil.copytree(FAKE_CASES, folder)
    return folder


def run_fake(worker_python, out, corpus, *extra):
    return matrix("run", "--python", worker_python, "--env-id", "fake", "--out", str(out), "--cases-dir", str(corpus),
                  "--cases", "passes|raises", "--verbose", *FAST, *extra)


def test_the_same_command_again_is_up_to_date_and_starts_no_worker(worker_python, tmp_path, corpus):
    first = run_fake(worker_python, tmp_path / "out", corpus)
    assert first.returncode == 0, first.stderr[-2000:]
    [run] = list_runs(tmp_path / "out")
    log = run.log_file("fake").read_text()
    again = run_fake(worker_python, tmp_path / "out", corpus)
    assert again.returncode == 0 and "up to date: run " + run.run_id in again.stderr
    assert len(list_runs(tmp_path / "out")) == 1, "no new run"
    assert run.log_file("fake").read_text() == log, "no worker was started"
    fresh = run_fake(worker_python, tmp_path / "out", corpus, "--fresh")
    assert fresh.returncode == 0 and len(list_runs(tmp_path / "out")) == 2


def test_an_edited_case_runs_alone_and_the_others_are_carried_over(worker_python, tmp_path, corpus):
    run_fake(worker_python, tmp_path / "out", corpus)
    (corpus / "raises.py").write_text((corpus / "raises.py").read_text() + "\n# edited\n")
    edited = run_fake(worker_python, tmp_path / "out", corpus)
    assert edited.returncode == 0, edited.stderr[-2000:]
    old, new = list_runs(tmp_path / "out")
    rows, _ = read_rows(new.rows_file("fake"))
    ran = {r["case"] for r in rows if not r["reused_from"]}
    carried = {r["case"] for r in rows if r["reused_from"] == old.run_id}
    assert ran == {"raises"} and carried == {"passes"}
    assert len(rows) == len(read_rows(old.rows_file("fake"))[0])  # the new run is whole
    assert "reused from run " + old.run_id in edited.stderr


def test_rerun_runs_the_named_cases_again_and_carries_the_others_over(worker_python, tmp_path, corpus):
    """--rerun: a harness fix that changes how some cases run (not their source) reruns those alone."""
    run_fake(worker_python, tmp_path / "out", corpus)
    again = run_fake(worker_python, tmp_path / "out", corpus, "--rerun", "^raises$")
    assert again.returncode == 0 and "up to date" not in again.stderr, again.stderr[-2000:]
    old, new = list_runs(tmp_path / "out")
    rows, _ = read_rows(new.rows_file("fake"))
    assert {r["case"] for r in rows if not r["reused_from"]} == {"raises"}
    assert {r["case"] for r in rows if r["reused_from"] == old.run_id} == {"passes"}
    bad = run_fake(worker_python, tmp_path / "out", corpus, "--rerun", "(")
    assert bad.returncode == 2 and "--rerun '(' is not a regular expression" in bad.stderr


def test_cells_that_cannot_exist_are_recorded_once_per_column_with_no_line(worker_python, tmp_path, corpus):
    done = run_fake(worker_python, tmp_path / "out", corpus)
    [run] = list_runs(tmp_path / "out")
    rows, _ = read_rows(run.rows_file("fake"))
    assert rows and not [r for r in rows if r["status"] == "skip"], "no row per cell that cannot exist"
    skips = json.loads((run.path / "fake.skips.json").read_text())
    caffe2 = [c for c in skips["columns"] if c["runtime"] == "caffe2" and c["exporter"] == "torchscript"]
    assert len(caffe2) == 1 and all(c["cells"] == 2 and "no Caffe2" in c["reason"] for c in caffe2)
    # dynamo would write opset 18 for the 11 asked: its columns are the exporter's range, whatever the runtime
    dynamo = [c for c in skips["columns"] if c["exporter"] == "dynamo"]
    assert len(dynamo) == 3 and {c["reason"].split(" writes ")[1] for c in dynamo} == {
        "the opset requested from 13 up, and opset 18 below it; requested 11"}
    cell_lines = [line for line in done.stderr.splitlines() if line.startswith("[fake ")]
    assert cell_lines and not [line for line in cell_lines if "caffe2" in line], "a skip got a line"
    assert "2 cells not applicable here, recorded once per column: no Caffe2" in done.stderr
    assert "6 cells not applicable here, recorded once per column: the dynamo exporter of torch" in done.stderr
    from matrix.views.report import render_report
    index, _ = render_report(tmp_path / "out")
    assert "no Caffe2" in index.read_text()


def test_a_terminal_gets_a_live_display_and_no_line_per_cell(worker_python, tmp_path, corpus):
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "fake",
                             "--out", str(tmp_path / "out"), "--cases-dir", str(corpus), "--cases", "passes|raises",
                             *FAST], cwd=REPO, stdin=child, stdout=child, stderr=child,
                            env={**os.environ, "COLUMNS": "160", "TERM": "xterm"})
    os.close(child)
    output = b""
    deadline = time.time() + 600
    while time.time() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 0, text[-2000:]
    assert "━" in text and "fake" in text  # the bar, with the environment's name
    assert "build-fail" in text  # a failure is printed as it happens
    assert "[fake " not in text, "no line per cell in a terminal"
    assert "the matrix, this run" in text  # the summary table


def test_environments_at_once_give_the_same_rows_as_one_after_another(tmp_path):
    """Two lineup entries (torch 1.4.0's pins, built from the uv cache), serially and two at a time."""
    lineup = tmp_path / "lineup.toml"
    pins = next(e for e in load_lineup() if e.id == "torch-1.4.0").pins
    lineup.write_text("".join(f'[[env]]\nid = "{name}"\npython = "3.7"\npins = {json.dumps(list(pins))}\n\n'
                              for name in ("pair-a", "pair-b")))
    env = {"MATRIX_LINEUP": str(lineup), "MATRIX_ENVS_DIR": str(tmp_path / "envs")}
    common = ["run", "--env", "pair-a", "--env", "pair-b", "--cases-dir", str(FAKE_CASES), "--cases", "passes|raises",
              "--verbose", *FAST]
    serial = matrix(*common, "--jobs", "1", "--out", str(tmp_path / "serial"), env=env)
    assert serial.returncode == 0, serial.stderr[-3000:]
    together = matrix(*common, "--jobs", "2", "--out", str(tmp_path / "together"), env=env)
    assert together.returncode == 0, together.stderr[-3000:]
    rows = {name: Results(tmp_path / name).rows() for name in ("serial", "together")}
    statuses = {name: {(r["env_id"], r["cell"]): r["status"] for r in frame.to_dict("records")}
                for name, frame in rows.items()}
    assert statuses["serial"] == statuses["together"] and len(statuses["serial"]) == 8
    assert set(rows["together"]["concurrent_workers"]) <= {1, 2} and set(rows["serial"]["concurrent_workers"]) == {1}
    assert "pair-a" in together.stderr and "pair-b" in together.stderr
