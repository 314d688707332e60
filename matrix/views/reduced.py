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
from matrix.views.repro import INSTALL_SHIM, literal

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


# An export failure's smallest module: a frozen sample (the operator corpus's, or one made from the traced call) run
# by the worker's own OpCall, exported with the cell's exporter code for its inputs; the error as the worker words
# it (outputs.describe). Needs torch and onnx at the environment's pins, nothing of this repository.
EXPORT_TEMPLATE = '''\
{docstring}
import os
import sys
import types
import warnings

import onnx  # noqa: F401  (before torch: torch 1.4's onnx.checker segfaults otherwise)
import torch


{install_shim}install("matrix.wire.contract").CaseSkip = type("CaseSkip", (Exception,), {{}})
outputs = install("matrix.worker.outputs", {outputs_source})  # the worker's describe(): the error as rows word it
opcall = install("matrix.worker.opcall", {opcall_source})  # builds a frozen sample, as the corpus's cases do

SAMPLE = {sample}
EXPORT = {export_call}
EXPECTED = {expected!r}


def main():
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    module, inputs = opcall.OpCall.of(SAMPLE)
    print("%s on %s" % (SAMPLE["call"], ", ".join("%s%s" % (t["dtype"], tuple(t["shape"])) for t in SAMPLE["tensors"])))
    code = {{"__name__": "export_call"}}
    exec(compile(EXPORT, "export_call", "exec"), code)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code["export_model"](module, outputs.fresh(inputs), "model.onnx")
        except Exception as exc:
            exc.warned = [str(w.message) for w in caught]
            print("status: export-fail")
            print("error: %s" % outputs.describe(exc))
            return 1
    print("status: exported (expected export-fail: %s): this torch does not fail this way" % EXPECTED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def build_export_script(result: dict[str, Any], commands: list[str]) -> str:
    """repro.py of an export failure's smallest module (``result`` as ``reduce`` writes it for an export-fail)."""
    from matrix.paths import WORKER_DIR
    chosen = result["module"]
    what = (f"the operator corpus's frozen sample {chosen['case_id']}" if chosen.get("case_id")
            else f"one call of {chosen['call']} as the case's traced graph made it")
    docstring = "\n".join([
        f"The smallest module that fails to export the same way: cell {result.get('cell')} ({result.get('env_id')}).",
        "", f"    failing op  {result.get('op')} (named by {result.get('op_from')})", f"    module      {what}",
        f"    expected    export-fail: {result.get('row_signature')}", "",
        "Run it (a clean venv from PyPI):", *[f"    {c}" for c in commands], ""])
    return EXPORT_TEMPLATE.format(
        install_shim=INSTALL_SHIM, docstring=literal(docstring), outputs_source=literal((WORKER_DIR / "outputs.py").read_text(encoding="utf-8")),
        opcall_source=literal((WORKER_DIR / "opcall.py").read_text(encoding="utf-8")),
        sample=repr(chosen["sample"]), export_call=literal(chosen["export_call"]), expected=result.get("row_signature"))
