"""Interpreter discovery: pyenv's Pythons are found even when their shims fail."""
from __future__ import annotations

import subprocess

import pytest

from matrix.envs.interpreters import InterpreterNotFound, find_python, pyenv_root


def test_finds_a_pyenv_python_whose_shim_is_inactive(monkeypatch):
    root = pyenv_root()
    if root is None or not list((root / "versions").glob("3.7.*")):
        pytest.skip("this machine has no pyenv Python 3.7")
    monkeypatch.delenv("PYENV_VERSION", raising=False)
    python = find_python("3.7")
    out = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert out.stdout.strip() == "(3, 7)"


def test_missing_python_says_how_to_get_it():
    with pytest.raises(InterpreterNotFound) as info:
        find_python("3.99", needed_by="lineup entry torch-9")
    message = str(info.value)
    assert "Python 3.99 (needed by lineup entry torch-9) not found" in message
    assert "pyenv install 3.99" in message
