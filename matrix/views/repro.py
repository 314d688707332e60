"""Reproductions that reproduce: one self-contained script per cell, built from what the worker recorded.

The script holds the case's source and its folder's helpers as they were when the row was
written, the exporter's and the runtime's code exactly as the worker ran it (the row's
``export_call`` and ``runtime_call``), and the worker's own comparison
(``matrix/worker/outputs.py``). It needs nothing of this repository and names no path of
the machine that ran it; the commands beside it install the environment's pins with uv.

    python -m matrix repro CELL [--env ENV] [--to FOLDER]   # or FILE:LINE of a results file
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.paths import WORKER_DIR
from matrix.wire import STAGE_FAILURE

WORKER_OUTPUTS = WORKER_DIR / "outputs.py"
HEREDOC = "MATRIX_REPRO"
FUTURE = "from __future__ import annotations\n"

TEMPLATE = '''\
"""Reproduction of one cell of the matrix: {what}.

    cell      {cell}
    recorded  {status} at stage {stage}{error_line}
    where     {where}

{usage}
"""
{future}import random
import sys
import types

import numpy
import onnx  # before torch: torch 1.4's onnx.checker segfaults otherwise
import torch

# The case module imports the matrix's contract only to declare metadata (Case, Expect):
# here those declarations are accepted and ignored.


class Declared(object):
    def __init__(self, *args, **kwargs):
        pass


def install(name, source=None, package=False):
    module = types.ModuleType(name)
    module.Case = module.Expect = Declared
    if package:
        module.__path__ = []
    sys.modules[name] = module
    if source is not None:
        exec(compile(source, name.replace(".", "/") + ".py", "exec"), module.__dict__)
    return module


for name in ("matrix", "matrix.wire", "matrix.worker", "matrix.worker.spec"):
    install(name, package=True)

# The worker's own comparison with eager PyTorch (matrix/worker/outputs.py), as it ran.
outputs = install("matrix.worker.outputs", {outputs_source})

# The case's folder as it was when the row was written: its helpers, then the case.
install({package!r}, package=True)
{support}
case = install({case_module!r}, {case_source})

# The exporter's code and the runtime's code, exactly as the worker called them.
EXPORT = {export_call}
RUNTIME = {runtime_call}

VARIANT_BUILDER = {builder!r}
ATOL, RTOL, BATCHABLE = {atol!r}, {rtol!r}, {batchable!r}
STAGE_FAILURE = {stage_failure!r}


def export():
    """build -> export: writes model.onnx and the inputs/eager outputs beside it (data.npz)."""
    stage = "build"
    try:
        random.seed(0)
        numpy.random.seed(0)
        torch.manual_seed(0)
        module, inputs = getattr(case, VARIANT_BUILDER)()
        if isinstance(inputs, torch.Tensor) or not isinstance(inputs, (tuple, list)):
            inputs = (inputs,)
        inputs = tuple(inputs)
        if hasattr(module, "eval"):
            module.eval()
        with torch.no_grad():
            want = outputs.to_numpy(outputs.flatten(module(*outputs.fresh(inputs))))
        arrays = {{"input_%d" % i: a for i, a in enumerate(outputs.to_numpy(outputs.flatten(inputs)))}}
        arrays.update(("output_%d" % i, a) for i, a in enumerate(want))
        first = outputs.flatten(inputs)
        if BATCHABLE and first and first[0].dim() > 0:
            more = outputs.rebatch(inputs, int(first[0].shape[0]) + 1)
            with torch.no_grad():
                more_want = outputs.to_numpy(outputs.flatten(module(*outputs.fresh(more))))
            arrays.update(("batch_input_%d" % i, a) for i, a in enumerate(outputs.to_numpy(outputs.flatten(more))))
            arrays.update(("batch_output_%d" % i, a) for i, a in enumerate(more_want))
        numpy.savez("data.npz", **arrays)
        stage = "export"
        code = {{}}
        exec(compile(EXPORT, "export_call", "exec"), code)
        code["export_model"](module, outputs.fresh(inputs), "model.onnx")
    except Exception as exc:
        return fail(stage, exc)
    try:
        onnx.checker.check_model(onnx.load("model.onnx"))
        print("checker: ok")
    except Exception as exc:  # recorded, never a failure: the runtime decides
        print("checker: %s: %s" % (type(exc).__name__, exc))
    return None


def run():
    """load -> run -> compare -> batch on model.onnx, with the runtime's recorded code."""
    with numpy.load("data.npz") as data:
        group = lambda prefix: [data["%s_%d" % (prefix, i)] for i in range(len(data.files))
                                if "%s_%d" % (prefix, i) in data.files]
        arrays, want, more, more_want = group("input"), group("output"), group("batch_input"), group("batch_output")
    code = {{}}
    exec(compile(RUNTIME, "runtime_call", "exec"), code)
    stage = "load"
    try:
        session = code["load_model"]("model.onnx")
        stage = "run"
        got = code["run_model"](session, arrays)
        stage = "compare"
        errors = outputs.compare(got, want, ATOL, RTOL)
        if more and more_want:
            stage = "batch"
            got = code["run_model"](session, more)
            stage = "compare"
            outputs.compare(got, more_want, ATOL, RTOL, where="at batch size %d: " % more[0].shape[0])
    except Exception as exc:
        return fail(stage, exc)
    print("status: pass")
    print("max abs error %.3g (atol %g, rtol %g)" % (errors["max_abs_err"], ATOL, RTOL))
    return 0


def fail(stage, exc):
    print("status: %s" % STAGE_FAILURE[stage])
    print("error: %s" % outputs.describe(exc))
    return 1


if __name__ == "__main__":
    step = sys.argv[1] if len(sys.argv) > 1 else "all"
    failed = export() if step in ("export", "all") else None
    sys.exit(failed if failed is not None else (run() if step in ("run", "all") else 0))
'''


class ReproError(ValueError):
    """A row that cannot be reproduced (no recorded call, no case source); the message says why."""


def literal(text: str) -> str:
    """A Python literal for ``text``: a readable raw triple-quoted string when that is exact, else repr().

    A raw string keeps every backslash as written; it only cannot hold its own delimiter, end in a
    backslash or a quote, or carry a carriage return through a copy-paste.
    """
    if "'''" not in text and not text.endswith(("\\", "'")) and "\r" not in text:
        return "r'''" + text + "'''"
    return repr(text)


def _install_commands(entry: Entry | None, python: str | None, venv: str) -> list[str]:
    if entry is None:
        return [f"# the environment's pins are not in this lineup: install torch, onnx and the runtime at "
                f"the versions above into {venv}"]
    lines = [f"uv venv --python {entry.python} {venv}",
             f"uv pip install --python {venv}/bin/python {' '.join(shlex.quote(p) for p in entry.pins)}"]
    if entry.find_links:
        lines.append(f"# (torch {entry.torch}: this lineup entry took a CPU build from a local wheel folder; "
                     "PyPI's build of the same release works too)")
    return lines


def build_script(row: dict[str, Any], case: dict[str, Any], exporting: Entry | None,
                 running: Entry | None) -> tuple[str, str]:
    """The reproduction of ``row``: (repro.py, the shell commands that install and run it)."""
    if row.get("status") in ("skip", None):
        raise ReproError(f"cell {row.get('cell')} was skipped ({row.get('error')}): there is nothing to reproduce")
    if not row.get("export_call"):
        raise ReproError(f"cell {row.get('cell')} records no export call (a row from before reproductions were "
                         f"recorded, or a crash before the export): run the cell again")
    if not case or case.get("error") or not case.get("source"):
        raise ReproError(f"no source of case {row.get('case')!r} in the run's catalogue")
    file = Path(str(case.get("file") or f"cases/{row['case']}.py"))
    package, filename = file.parent.name or "cases", file.name
    support = "\n".join(f"install({package + '.' + name[:-3]!r}, {literal(source)})"
                        for name, source in sorted((case.get("support_sources") or {}).items())
                        if name != "__init__.py")
    replayed = bool(row.get("runtime_env"))
    runtime_call = row.get("runtime_call") or ""
    if replayed:
        usage_lines = (["Export with the environment that made the file, run with the one that ran it:"]
                       + [f"    {c}" for c in _install_commands(exporting, row.get("python"), ".export-env")]
                       + [f"    {c}" for c in _install_commands(running, None, ".runtime-env")]
                       + ["    .export-env/bin/python repro.py export", "    .runtime-env/bin/python repro.py run"])
        where = f"exported in {row.get('env_id')}, run by {row.get('runtime')} in {row.get('runtime_env')}"
    else:
        usage_lines = (["Run it:"] + [f"    {c}" for c in _install_commands(exporting, row.get("python"), ".venv")]
                       + ["    .venv/bin/python repro.py"])
        where = f"{row.get('env_id')}: torch {row.get('torch')}, onnx {row.get('onnx')}, " \
                f"onnxruntime {row.get('onnxruntime')}, Python {row.get('python')}"
    error = (row.get("error") or "").strip().splitlines()
    variant = row["variant"]
    script = TEMPLATE.format(
        what=f"{row['case']}/{variant}, {row['exporter']} opset {row['opset_requested']}, {row['runtime']}",
        cell=row.get("cell"), status=row.get("status"), stage=row.get("stage"),
        error_line=f": {error[0][:200]}" if error else "", where=where, usage="\n".join(usage_lines),
        future="", outputs_source=literal(WORKER_OUTPUTS.read_text(encoding="utf-8")), package=package,
        support=support, case_module=f"{package}.{filename[:-3]}", case_source=literal(case["source"]),
        export_call=literal(row["export_call"]), runtime_call=literal(runtime_call),
        builder="build" if variant == "default" else f"build_{variant}",
        atol=row.get("atol"), rtol=row.get("rtol"), batchable=bool((case.get("meta") or {}).get("batchable")),
        stage_failure={stage: status.value for stage, status in STAGE_FAILURE.items()})
    if not runtime_call:  # the export itself failed: there is no runtime call to replay
        script = script.replace('sys.exit(failed if failed is not None else (run() if step in ("run", "all") else 0))',
                                'sys.exit(failed if failed is not None else 0)')
    commands = "\n".join(line.strip() for line in usage_lines[1:])
    return script, commands


def shell_snippet(script: str, commands: str, folder: str) -> str:
    """Copy-paste into a shell, in an empty folder: writes repro.py, installs the pins, runs it."""
    return "\n".join([f"mkdir -p {shlex.quote(folder)} && cd {shlex.quote(folder)}",
                      f"cat > repro.py <<'{HEREDOC}'", script.rstrip("\n"), HEREDOC, commands])


def write_folder(folder: Path, script: str, commands: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "repro.py").write_text(script, encoding="utf-8")
    run = folder / "run.sh"
    run.write_text("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n" + commands + "\n", encoding="utf-8")
    run.chmod(0o755)
    return folder


def row_from_file(ref: str) -> dict[str, Any]:
    """``FILE:LINE`` of a results file: that row."""
    path, _, line = ref.rpartition(":")
    try:
        number = int(line)
        text = Path(path).read_text(encoding="utf-8").splitlines()[number - 1]
        return json.loads(text)
    except (ValueError, IndexError, OSError) as exc:
        raise ReproError(f"{ref}: not a row of a results file ({exc})") from None
