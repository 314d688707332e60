"""Shared fixtures: which worker interpreter to use, and the paths of the corpora."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FAKE_CASES = Path(__file__).resolve().parent / "fake_cases"
FLAKY_CASES = Path(__file__).resolve().parent / "flaky_cases"
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


TORCH14_CASES = "expand_minus_one|squeeze_non_one|keep_initializers|inplace_slice|index_put_accumulate"


@pytest.fixture(scope="session")
def torch14_out(tmp_path_factory) -> Path:
    """The torch-1.4.0 lineup entry, built (about 15 s) and run on the seed's cases at opset 9."""
    import subprocess
    out = tmp_path_factory.mktemp("torch14")
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-1.4.0", "--out", str(out),
                           "--opsets", "9", "--runtimes", "ort-cpu,caffe2", "--time-budget", "0.05",
                           "--cases", TORCH14_CASES],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def torch14_python(torch14_out) -> str:
    from matrix.envs.build import ENVS_DIR, env_python
    return str(env_python(ENVS_DIR / "torch-1.4.0"))


# A test that takes one of these starts a worker with torch, runs real exports or builds a lineup environment
SLOW_FIXTURES = {"worker_python", "torch14_out", "torch14_python"}


def pytest_configure(config) -> None:
    # `pytest -m "not slow"` is the inner loop: the host's own logic, no torch, no environment built
    config.addinivalue_line("markers", "slow: starts a worker with torch, runs real exports or builds an environment")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def published_site(tmp_path_factory):
    """(the SiteBuild, its folder) of the site built from the committed results/, once for every test that reads
    it: a build of the whole reference takes about a minute and a half here, and three tests read the same one."""
    from matrix.views.site import build_site
    folder = tmp_path_factory.mktemp("published") / "site"
    return build_site(REPO / "results", folder), folder
