"""A reduced file's reproduction: repro.py (onnx, numpy and the runtime only: no torch, nothing of this
repository) and run.sh (a clean venv with the environment's own pins of those, from PyPI with uv).

The script runs the runtime's recorded code (the row's ``runtime_call``, as the worker ran it) on reduced.onnx with
every input set of inputs.npz, and prints the status and the error as the runtime words it; for a divergence it
compares with the reference evaluator's values saved beside the inputs.
"""
from __future__ import annotations

import shlex
from typing import Any

from matrix.envs.lineup import Entry
from matrix.views.repro import literal

# What the script needs besides the runtime: the packages that read the file and hold the arrays.
BASE_PACKAGES = ("numpy", "onnx", "protobuf")

TEMPLATE = '''\
{docstring}
import os
import sys

import numpy
import onnx

# The runtime's code, exactly as the matrix's worker ran it (the row's runtime_call)
RUNTIME = {runtime}
EXPECTED_STATUS = {status!r}
ATOL, RTOL = {atol!r}, {rtol!r}


def arrays(data, prefix):
    found = []
    while "%s_%d" % (prefix, len(found)) in data:
        found.append(data["%s_%d" % (prefix, len(found))])
    return found


def diverges(got, want):
    for g, w in zip(got, want):
        g, w = numpy.asarray(g, dtype=numpy.float64), numpy.asarray(w, dtype=numpy.float64)
        if g.shape != w.shape:
            return "shape %s, the reference evaluator gives %s" % (g.shape, w.shape)
        diff = numpy.abs(g - w)
        if g.size and not numpy.all(diff <= ATOL + RTOL * numpy.abs(w)):
            return "max abs error %.3g: beyond atol=%g, rtol=%g against the reference evaluator" % (diff.max(), ATOL, RTOL)
    return None


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    code = {{"__name__": "runtime_call"}}
    exec(compile(RUNTIME, "runtime_call", "exec"), code)
    model = onnx.load("reduced.onnx")
    print("reduced.onnx: %d nodes: %s" % (len(model.graph.node), ", ".join(n.op_type for n in model.graph.node)))
    data = numpy.load("inputs.npz")
    try:
        session = code["load_model"]("reduced.onnx")
    except Exception as exc:
        print("status: load-fail")
        print("error: %s" % exc)
        return 1
    for prefix in ("input", "batch_input"):
        fed = arrays(data, prefix)
        if not fed:
            continue
        try:
            got = code["run_model"](session, fed)
        except Exception as exc:
            print("status: run-fail")
            print("error: %s" % exc)
            return 1
        want = arrays(data, prefix.replace("input", "output"))
        differs = diverges(got[:len(want)], want) if want else None
        if differs:
            print("status: diverge")
            print("error: %s" % differs)
            return 1
    print("status: pass (expected %s: this runtime does not fail this way)" % EXPECTED_STATUS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def install_lines(entry: Entry | None, distributions: tuple[str, ...]) -> list[str]:
    """A clean venv with the environment's Python and its pins of the runtime, onnx, numpy and protobuf."""
    if entry is None:
        return ["# the environment is not in this lineup: install onnx, numpy and the runtime at the versions above",
                "python repro.py"]
    pins = list(dict.fromkeys(f"{name}=={entry.pin(name)}" for name in (*distributions, *BASE_PACKAGES)
                              if entry.pin(name)))
    need = (f"echo 'This needs Python {entry.python}, the one the environment was measured with: install it (uv "
            f"python install {entry.python}, or pyenv install {entry.python}) and run this again' >&2")
    return [f"uv venv --python {entry.python} .venv || {{ {need}; false; }}",
            f"uv pip install --python .venv/bin/python {' '.join(shlex.quote(p) for p in pins)}",
            ".venv/bin/python repro.py"]


def build_script(result: dict[str, Any], row: dict[str, Any], commands: list[str]) -> str:
    nodes = ", ".join(n["op_type"] for n in result.get("nodes", []))
    baseline = result.get("baseline") or {}
    docstring = "\n".join([
        f"The smallest subgraph of a failing file that fails the same way: cell {row.get('cell')} "
        f"({row.get('runtime_env') or row.get('env_id')}).", "",
        f"    {result.get('nodes_after')} of {result.get('nodes_before')} nodes: {nodes}",
        f"    expected  {baseline.get('status')}: {str(baseline.get('message') or '')[:300]}", "",
        "Run it (a clean venv from PyPI):", *[f"    {c}" for c in commands], ""])
    return TEMPLATE.format(docstring=literal(docstring), runtime=literal(row.get("runtime_call") or ""),
                           status=baseline.get("status"), atol=row.get("atol") or 1e-4, rtol=row.get("rtol") or 1e-3)
