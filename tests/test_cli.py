"""Bad arguments exit with 2 and a message naming the value; nothing is run or lost."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import FAKE_CASES, REPO


def matrix(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matrix", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.mark.parametrize("args, needle", [
    (["--opsets", "99"], "--opsets: '99' is not an ONNX opset"),
    (["--runtimes", "tensorrt"], "--runtimes: unknown tensorrt"),
    (["--exporters", "jit"], "--exporters: unknown jit"),
    (["--env", "torch-0.0.1"], "no lineup entry 'torch-0.0.1'"),
])
def test_bad_arguments_exit_2_before_any_work(tmp_path, args, needle):
    done = matrix("run", "--out", str(tmp_path), *args)
    assert done.returncode == 2 and needle in done.stderr
    assert not (tmp_path / "runs").exists()


def test_timeout_must_be_positive(tmp_path):
    done = matrix("run", "--out", str(tmp_path), "--timeout", "0")
    assert done.returncode == 2 and "--timeout" in done.stderr


def test_cases_matching_nothing(worker_python, tmp_path):
    done = matrix("run", "--python", worker_python, "--out", str(tmp_path), "--cases-dir", str(FAKE_CASES),
                  "--cases", "no_such_case", "--no-report")
    assert done.returncode == 2
    assert "--cases 'no_such_case' matches no case" in done.stderr and "passes" in done.stderr


def test_a_cases_folder_named_like_another_package_is_refused_by_name(worker_python, tmp_path):
    """A user's folder called ``cases`` would import the corpus's package instead of its own files."""
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "my_relu.py").write_text("import torch\n\n\ndef build():\n    return torch.nn.ReLU(), (torch.randn(2),)\n")
    done = matrix("run", "--python", worker_python, "--out", str(tmp_path / "out"), "--cases-dir", str(folder),
                  "--no-report", "--exporters", "torchscript", "--opsets", "17", "--runtimes", "ort-cpu")
    assert done.returncode == 2
    assert "its folder's name 'cases' is already the package at" in done.stderr and "rename the folder" in done.stderr


def test_compare_unknown_run(tmp_path):
    done = matrix("compare", "nope", "nada", "--out", str(tmp_path))
    assert done.returncode == 2 and "no run 'nope'" in done.stderr


BAD_LINEUP = """
[[env]]
id = "torch-9.9.9"
python = "3.11"
pins = ["torch==9.9.9", "onnx==1.23.2"]

[[env]]
id = "python-3.99"
python = "3.99"
pins = ["torch==2.13.0"]
"""


@pytest.mark.parametrize("entry, needles", [
    ("torch-9.9.9", ["torch==9.9.9", "cannot be installed"]),
    ("python-3.99", ["Python 3.99 (needed by lineup entry python-3.99) not found", "pyenv install 3.99"]),
])
def test_bad_lineup_entries_are_named_before_anything_is_built(tmp_path, entry, needles):
    lineup = tmp_path / "lineup.toml"
    lineup.write_text(BAD_LINEUP)
    envs = tmp_path / "envs"
    done = matrix("run", "--lineup", str(lineup), "--env", entry, "--out", str(tmp_path / "out"),
                  env={**os.environ, "MATRIX_ENVS_DIR": str(envs)})
    assert done.returncode == 2, done.stderr
    for needle in needles:
        assert needle in done.stderr
    assert str(lineup) in done.stderr
    assert not (envs / entry).exists() and not (tmp_path / "out").exists()


def test_malformed_pin_stops_before_anything_runs(tmp_path):
    lineup = tmp_path / "lineup.toml"
    lineup.write_text('[[env]]\nid = "x"\npython = "3.11"\npins = ["torch=2.0"]\n')
    done = matrix("run", "--lineup", str(lineup), "--env", "x", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "'torch=2.0' is not of the form 'name==version'" in done.stderr


def test_report_and_triage_follow_the_lineup_they_are_given(tmp_path):
    """--lineup (or MATRIX_LINEUP) orders the environments and names the torch ranges of drafts."""
    from matrix.results.rows import append_row
    from matrix.results.store import RunDir
    from matrix.wire import Row
    run = RunDir(tmp_path, "r1")
    for env, status in (("zeta-old", "pass"), ("alpha-new", "load-fail")):
        append_row(run.rows_file(env), Row(run_id="r1", env_id=env, cell="c/default/torchscript/opset9/default/x/y",
                                           case="c", variant="default", exporter="torchscript", opset_requested=9,
                                           runtime="onnxruntime", provider="CPUExecutionProvider", status=status,
                                           verdict="as-expected" if status == "pass" else "regression",
                                           error="Incompatible dims" if status != "pass" else None,
                                           finished_at="t").to_dict())
    lineup = tmp_path / "lineup.toml"
    lineup.write_text('[[env]]\nid = "zeta-old"\npython = "3.11"\npins = ["torch==1.0.0"]\n\n'
                      '[[env]]\nid = "alpha-new"\npython = "3.11"\npins = ["torch==2.0.0"]\n')
    done = matrix("report", "--out", str(tmp_path), env={**os.environ, "MATRIX_LINEUP": str(lineup)})
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "index.html").read_text()
    assert html.index("<b>zeta-old</b>") < html.index("<b>alpha-new</b>"), "lineup order, not name order"
    triage = matrix("triage", "--out", str(tmp_path), "--lineup", str(lineup))
    assert triage.returncode == 1 and 'torch=">=2.0.0"' in triage.stdout
    broken = matrix("triage", "--out", str(tmp_path), "--lineup", str(tmp_path / "missing.toml"))
    assert "missing.toml" in broken.stderr and "name order" in broken.stderr
