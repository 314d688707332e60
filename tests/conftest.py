"""Shared fixtures: which worker interpreter to use, and the paths of the corpora."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAKE_CASES = Path(__file__).resolve().parent / "fake_cases"
REAL_CASES = REPO / "cases"


@pytest.fixture(scope="session")
def worker_python() -> str:
    """This interpreter, as the worker: `nox -s tests` installs the torch-2.13.0 entry's pins here."""
    for module in ("torch", "onnx", "onnxruntime"):
        if importlib.util.find_spec(module) is None:
            message = f"{module} is not installed in this interpreter: run the tests with `nox -s tests`"
            if os.environ.get("CI"):
                pytest.fail(message)  # CI must not pass by skipping the real pipeline
            pytest.skip(message)
    return sys.executable
