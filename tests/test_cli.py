"""Bad arguments exit with 2 and a message naming the value; nothing is run or lost."""
from __future__ import annotations

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


def test_compare_unknown_run(tmp_path):
    done = matrix("compare", "nope", "nada", "--out", str(tmp_path))
    assert done.returncode == 2 and "no run 'nope'" in done.stderr
