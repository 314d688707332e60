"""Reproductions reproduce: the script built from a row's record gives that row's status and error, by itself."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from matrix.envs.lineup import find_entry, load_lineup
from matrix.results.read import Results
from matrix.views.repro import build_script, shell_snippet

LINEUP = load_lineup()
# (case, variant, exporter, runtime, status): failing cells of each kind
TORCH14_CELLS = [
    ("expand_minus_one", "default", "torchscript", "onnxruntime", "load-fail"),
    ("keep_initializers", "default", "torchscript", "caffe2", "load-fail"),
    ("squeeze_non_one", "default", "torchscript", "caffe2", "run-fail"),
    ("index_put_accumulate", "workaround", "torchscript", "onnxruntime", "export-fail"),
    ("inplace_slice", "default", "torchscript", "onnxruntime", "diverge"),
]
TORCH213_CELLS = [
    ("dict_io", "default", "torchscript", "onnxruntime", "export-fail"),
    ("squeeze_non_one", "default", "dynamo", "onnxruntime", "load-fail"),
    ("squeeze_non_one", "default", "dynamo", "reference", "run-fail"),
    ("numeric_divergence", "default", "torchscript", "reference", "diverge"),
    ("view_bakes_batch", "default", "torchscript", "onnxruntime", "diverge"),
]


def pick(out: Path, env_id: str, wanted) -> list[tuple[dict, dict]]:
    results = Results(out)
    rows = results.rows()
    rows = rows[(rows["env_id"] == env_id) & rows["runtime_env"].isna()]
    picked = []
    for case, variant, exporter, runtime, status in wanted:
        match = rows[(rows["case"] == case) & (rows["variant"] == variant) & (rows["exporter"] == exporter)
                     & (rows["runtime"] == runtime)]
        assert not match.empty, (case, variant, exporter, runtime)
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in match.iloc[0].to_dict().items()}
        assert row["status"] == status, (row["cell"], row["status"], row["error"])
        picked.append((row, results.case_as_run(row["run_id"], row["env_id"], row["case"])))
    return picked


def reproduce(row: dict, case: dict, python: str, folder: Path) -> str:
    entry = find_entry(LINEUP, row["env_id"]) if row["env_id"].startswith("torch-") else None
    script, commands = build_script(row, case, entry, entry)
    assert "/work/" not in script and str(REPO) not in script, "no path of the machine that ran it"
    folder.mkdir(parents=True)
    (folder / "repro.py").write_text(script)
    done = subprocess.run([python, "repro.py"], cwd=folder, capture_output=True, text=True, timeout=600)
    return done.stdout


def check(row: dict, stdout: str) -> None:
    assert f"status: {row['status']}\n" in stdout, (row["cell"], stdout[-2000:])
    first_line = row["error"].splitlines()[0]
    assert f"error: {first_line}" in stdout, (row["cell"], first_line, stdout[-2000:])


@pytest.mark.parametrize("index", range(len(TORCH14_CELLS)))
def test_torch_1_4_reproductions(torch14_out, torch14_python, tmp_path, index):
    row, case = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[index:index + 1])[0]
    check(row, reproduce(row, case, torch14_python, tmp_path / "repro"))


@pytest.fixture(scope="module")
def torch213_out(worker_python, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("repro213")
    cases = "|".join(sorted({c[0] for c in TORCH213_CELLS}))
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "torch-2.13.0",
                           "--out", str(out), "--opsets", "18", "--runtimes", "ort-cpu,reference", "--cases", cases,
                           "--time-budget", "0.02", "--no-report"], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.parametrize("index", range(len(TORCH213_CELLS)))
def test_torch_2_13_reproductions(torch213_out, worker_python, tmp_path, index):
    row, case = pick(torch213_out, "torch-2.13.0", TORCH213_CELLS[index:index + 1])[0]
    check(row, reproduce(row, case, worker_python, tmp_path / "repro"))


def test_the_report_snippet_writes_and_runs_the_script(torch14_out, torch14_python, tmp_path):
    """What the case page shows, pasted into a shell: the heredoc gives back the very script."""
    row, case = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[:1])[0]
    entry = find_entry(LINEUP, "torch-1.4.0")
    script, commands = build_script(row, case, entry, entry)
    snippet = shell_snippet(script, commands, "repro-expand")
    assert "uv venv --python 3.7 .venv" in commands and "torch==1.4.0" in commands
    # run the snippet's file-writing part, then the script with the already-built environment
    writing = snippet.split("\nuv venv")[0]
    subprocess.run(["sh", "-c", writing], cwd=tmp_path, check=True)
    assert (tmp_path / "repro-expand" / "repro.py").read_text() == script
    done = subprocess.run([torch14_python, "repro.py"], cwd=tmp_path / "repro-expand", capture_output=True, text=True)
    assert "status: load-fail" in done.stdout and "Incompatible dimensions" in done.stdout


def test_repro_command_writes_a_folder(torch14_out, tmp_path):
    row, _ = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[:1])[0]
    done = subprocess.run([sys.executable, "-m", "matrix", "repro", row["cell"], "--env", "torch-1.4.0",
                           "--out", str(torch14_out), "--to", str(tmp_path / "r")], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "repro.py").exists() and "uv pip install" in (tmp_path / "r" / "run.sh").read_text()
    missing = subprocess.run([sys.executable, "-m", "matrix", "repro", "no/such/cell", "--out", str(torch14_out)],
                             cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 2 and "no row of cell 'no/such/cell'" in missing.stderr
    json.dumps(row)  # a row is plain data
