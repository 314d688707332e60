"""The house's rules, checked: the host never imports torch, onnx or a runtime; in-environment code parses
on Python 3.7 (torch 1.4's era); rooms stay small; every command is found and listed."""
from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest
from conftest import REPO

# Code that runs inside the pinned environments (Python 3.7 up): the worker, the wire, the adapters, the cases
WORKER_SIDE = ["matrix/worker", "matrix/wire", "matrix/adapters", "cases"]
BLOCKED = ("torch", "onnx", "onnxruntime", "openvino", "caffe2", "onnxscript")


def _files(*folders: str) -> list[pathlib.Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def _host_modules() -> list[str]:
    names = []
    for path in _files("matrix"):
        relative = path.relative_to(REPO).with_suffix("")
        if relative.parts[1] == "worker" or relative.name == "__main__":
            continue
        names.append(".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts))
    return names


def test_no_host_module_imports_torch_onnx_or_a_runtime():
    """Every host module (and the adapters and the wire, which the host reads) imports with those blocked."""
    script = f"""
import importlib, sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError("the host imported " + name)
sys.meta_path.insert(0, Blocked())
for name in {_host_modules()!r}:
    importlib.import_module(name)
print("imported", len({_host_modules()!r}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported" in done.stdout


@pytest.mark.parametrize("path", _files(*WORKER_SIDE), ids=lambda p: str(p.relative_to(REPO)))
def test_worker_side_file_parses_with_python_37_grammar(path):
    ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 7))


def test_worker_side_files_compile_on_a_real_python_37():
    """The grammar check misses what only the interpreter knows (its own parser's limits): compile them there."""
    from matrix.envs.interpreters import InterpreterNotFound, find_python
    try:
        python = find_python("3.7")
    except InterpreterNotFound as exc:
        pytest.skip(f"no Python 3.7 here: {exc}")
    files = [str(p) for p in _files(*WORKER_SIDE)]
    done = subprocess.run([str(python), "-c", "import sys\nfor f in sys.argv[1:]:\n compile(open(f, encoding='utf-8')"
                           ".read(), f, 'exec')", *files], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_rooms_stay_small():
    """No host module over 350 lines, no command over 120, no function over 60 (the house's sizes)."""
    too_big = []
    for path in _files("matrix"):
        relative = path.relative_to(REPO).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        host = not relative.startswith(tuple(f"{folder}/" for folder in WORKER_SIDE))
        if host and lines > 350:
            too_big.append(f"{relative}: {lines} lines")
        if relative.startswith("matrix/commands/") and path.stem not in ("__init__", "common") and lines >= 120:
            too_big.append(f"{relative}: {lines} lines (a command)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                too_big.append(f"{relative}:{node.lineno} {node.name}(): {node.end_lineno - node.lineno + 1} lines")
    assert not too_big, too_big


def test_help_lists_every_command_with_a_line():
    from matrix.commands import commands
    done = subprocess.run([sys.executable, "-m", "matrix", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    found = commands()
    assert {"run", "replay", "report", "compare", "triage", "repro", "envs", "publish", "diff", "site", "merge",
            "lock", "gpu", "list"} <= set(found)
    for name, module in found.items():
        assert module.HELP and "\n" not in module.HELP, name
        assert f"    {name} " in done.stdout, name


def test_every_status_has_a_colour_and_a_place_in_the_legend():
    from matrix.views.labels import STATUS_STYLE
    from matrix.wire import Status
    assert set(STATUS_STYLE) == set(Status)
