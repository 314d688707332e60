"""Reproductions that reproduce: one self-contained script per cell, built from what the worker recorded.

The script holds the case's source and its folder's helpers as they were when the row was
written, the exporter's and the runtime's code exactly as the worker ran it (the row's
``export_call`` and ``runtime_call``), and the worker's own stage code and comparison
(``matrix/worker/stages.py``, ``matrix/worker/outputs.py``), which it calls as the pipeline
does. It needs nothing of this repository and names no path of the machine that ran it;
the commands beside it install the environment's pins with uv.

    python -m matrix repro CELL [--env ENV] [--to FOLDER]   # or FILE:LINE of a results file
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from matrix.adapters import is_device
from matrix.envs.lineup import PACKAGE_FIELDS, Entry
from matrix.paths import WORKER_DIR
from matrix.wire import STAGE_FAILURE

WORKER_OUTPUTS, WORKER_STAGES = WORKER_DIR / "outputs.py", WORKER_DIR / "stages.py"
WORKER_OPCALL = WORKER_DIR / "opcall.py"  # what an operator case builds its frozen sample with
HEREDOC = "MATRIX_REPRO"

# What was recorded (the row, the case's sources, the lineup's pins) enters the script only as Python
# literals, so no quote, brace or backslash in it can change the code; the code is this template's,
# and the work it does is the worker's own stages, called as the pipeline calls them.
# How a generated script (a reproduction, a reduced export failure) has the worker's modules without the matrix: each
# is installed from its source; a case module imports the contract only to declare metadata (Case, Expect), which is
# accepted and ignored. Part of the scripts' text, not of this module.
INSTALL_SHIM = '''# The case module imports the matrix's contract only to declare metadata (Case, Expect):
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


for name in ("matrix", "matrix.wire", "matrix.worker"):
    install(name, package=True)
'''
TEMPLATE = '''\
{docstring}
import contextlib
import sys
import types

import onnx  # before torch: torch 1.4's onnx.checker segfaults otherwise
import torch  # noqa: F401

{install_shim}
# The worker's own code, as it ran: the comparison with eager PyTorch (matrix/worker/outputs.py)
# and the stages' work (matrix/worker/stages.py), which the pipeline calls the same way.
outputs = install("matrix.worker.outputs", {outputs_source})
stages = install("matrix.worker.stages", {stages_source})
{corpus_support}
# The case's folder as it was when the row was written: its helpers, then the case.
install({package!r}, package=True)
{support}
case = install({case_module!r}, {case_source})

# The exporter's code and the runtime's code, exactly as the worker called them (no runtime's
# code where the export failed: nothing ran it).
EXPORT = {export_call}
RUNTIME = {runtime_call}

BUILDER = {builder!r}
ATOL, RTOL, BATCHABLE = {atol!r}, {rtol!r}, {batchable!r}
STAGE_FAILURE = {stage_failure!r}


class Failed(Exception):
    def __init__(self, status, exc):
        Exception.__init__(self, status)
        self.status, self.exc = status, exc


@contextlib.contextmanager
def stage(name):
    """A stage of the worker's pipeline: its exception is the status the worker gives that stage."""
    try:
        yield
    except Exception as exc:
        raise Failed(STAGE_FAILURE[name], exc)


def export():
    """build -> export -> check: writes model.onnx and the inputs/eager outputs beside it (data.npz)."""
    with stage("build"):
        # the variant's other input sets (shapes_kv_cache for build_kv_cache, else shapes): a baked shape fails here
        shapes = getattr(case, "shapes" + BUILDER[len("build"):], None) or getattr(case, "shapes", None)
        built = stages.build(getattr(case, BUILDER), BATCHABLE, "%s: %s()" % (case.__name__, BUILDER),
                             shapes=shapes if callable(shapes) else None)
    with stage("export"):
        stages.export(EXPORT, "export_call", built, "model.onnx")
        checked = stages.inspect_model("model.onnx")
    print("checker: %s" % ("ok" if checked["checker_ok"] else checked["checker_error"]))  # never a failure
    stages.save_arrays("data.npz", built)


def run():
    """load -> run -> compare -> batch on model.onnx, with the runtime's recorded code."""
    errors = {{}}
    stages.run_exported(stages.compiled(RUNTIME, "runtime_call"), "model.onnx", stages.load_arrays("data.npz"),
                        ATOL, RTOL, stage, errors.update)
    print("status: pass")
    print("max abs error %.3g (atol %g, rtol %g)" % (errors["max_abs_err"], ATOL, RTOL))


def main(step):
    try:
        if step in ("export", "all"):
            export()
        if step in ("run", "all") and RUNTIME:
            run()
    except Failed as failed:
        print("status: %s" % failed.status)
        print("error: %s" % outputs.describe(failed.exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "all"))
'''


class ReproError(ValueError):
    """A row that cannot be reproduced (no recorded call, no case source); the message says why."""


def literal(text: str) -> str:
    """A Python literal for ``text``: a readable raw triple-quoted string for lines of text when that is
    exact, else repr().

    A raw string keeps every backslash as written; it only cannot hold its own delimiter, end in a
    backslash or a quote, carry a carriage return (or any character a terminal does not show)
    through a copy-paste, or hold the line that ends the shell snippet's heredoc.
    """
    lines = text.split("\n")
    if ("\n" in text and "'''" not in text and not text.endswith(("\\", "'")) and HEREDOC not in lines
            and all(line.replace("\t", " ").isprintable() for line in lines)):
        return "r'''" + text + "'''"
    return repr(text)


# PyTorch's own index of CPU-only wheels: PyPI's Linux torch pulls every nvidia-* wheel (several GB) from
# torch 1.13 on, which a CPU cell never loads. Older releases bundle CUDA in the wheel itself and stay on PyPI.
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CPU_INDEX_SINCE = (1, 13)
# The lock pins what PyPI's CUDA build of torch pulled in; a CPU build needs none of it (uv still resolves
# anything another pin needs)
CUDA_ONLY = re.compile(r"(nvidia-|cuda-|triton==)", re.IGNORECASE)


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3])


def _install_commands(entry: Entry | None, python: str | None, venv: str, cpu: bool = True,
                      packages: frozenset[str] = frozenset()) -> list[str]:
    if entry is None:
        return [f"# the environment's pins are not in this lineup: install torch, onnx and the runtime at "
                f"the versions above into {venv}"]
    # a missing interpreter stops here with what to do, not three steps later with "no virtual environment"
    need = (f"echo 'This reproduction needs Python {entry.python}, the one this environment was measured with: "
            f"install it (uv python install {entry.python}, or pyenv install {entry.python}, or the "
            f"python{entry.python} package of your system) and run this again' >&2")
    index, pins, notes = "", list(entry.pins), []
    if cpu and _release(entry.torch) >= CPU_INDEX_SINCE:
        # best match across both indexes: torch's +cpu build from PyTorch's, every other pin from PyPI
        index = f"--extra-index-url {CPU_INDEX} --index-strategy unsafe-best-match "
        dropped = [p for p in pins if CUDA_ONLY.match(p)]
        pins = [p for p in pins if not CUDA_ONLY.match(p)]
        if dropped:
            notes.append(f"# a CPU cell: torch {entry.torch}'s CPU build from {CPU_INDEX}, without the lock's "
                         f"{len(dropped)} CUDA wheels (nvidia-*, cuda-*, triton)")
    lines = [f"uv venv --python {entry.python} {venv} || {{ {need}; false; }}",
             f"uv pip install --python {venv}/bin/python {index}{' '.join(shlex.quote(p) for p in pins)}", *notes]
    for field, package in PACKAGE_FIELDS.items():  # a transformers or torchvision case: its pins, as the worker had them
        extra = entry.packages(field)[1]
        if package in packages and extra:  # from torch's index too: PyPI's torchvision does not load beside a CPU torch
            lines.append(f"uv pip install --python {venv}/bin/python {index}{' '.join(shlex.quote(p) for p in extra)}")
    if entry.find_links:
        lines.append(f"# (torch {entry.torch}: this lineup entry took a CPU build from a local wheel folder; "
                     "PyPI's build of the same release works too)")
    return lines


def _chained(usage_lines: list[str]) -> list[str]:
    """The usage as the docstring shows it: notes first, then one && chain (pasted, it stops at a failure)."""
    notes = [line for line in usage_lines[1:] if line.strip().startswith("#")]
    steps = [line for line in usage_lines[1:] if not line.strip().startswith("#")]
    return [usage_lines[0], *notes, *[line + " && \\" for line in steps[:-1]], *steps[-1:]]


def _corpus_support(case: dict[str, Any]) -> str:
    """Any case may raise the contract's CaseSkip (a release lacks what it calls); an operator case builds with the
    worker's OpCall (matrix/worker/opcall.py): shipped as source too."""
    skip = ("# A case raises CaseSkip where the release lacks what it calls (matrix/wire/contract.py)\n"
            'install("matrix.wire.contract").CaseSkip = type("CaseSkip", (Exception,), {})\n')
    if (case.get("meta") or {}).get("corpus") != "ops":
        return skip
    return (skip + "# An operator case's frozen sample is built by the worker's OpCall, as it ran (matrix/worker/opcall.py)\n"
            f"install(\"matrix.worker.opcall\", {literal(WORKER_OPCALL.read_text(encoding='utf-8'))})\n")


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
    on_cpu = not is_device(row.get("runtime"), row.get("provider"))  # a GPU cell needs PyPI's CUDA build
    runtime_call = row.get("runtime_call") or ""
    found = row.get("runtime_versions") if isinstance(row.get("runtime_versions"), dict) else {}
    models = frozenset(package for package in PACKAGE_FIELDS.values() if found.get(package))
    if replayed:
        usage_lines = (["Export with the environment that made the file, run with the one that ran it:"]
                       + [f"    {c}" for c in _install_commands(exporting, row.get("python"), ".export-env", packages=models)]
                       + [f"    {c}" for c in _install_commands(running, None, ".runtime-env", on_cpu)]
                       + ["    .export-env/bin/python repro.py export", "    .runtime-env/bin/python repro.py run"])
        where = f"exported in {row.get('env_id')}, run by {row.get('runtime')} in {row.get('runtime_env')}"
    else:
        usage_lines = (["Run it:"] + [f"    {c}" for c in _install_commands(exporting, row.get("python"), ".venv", on_cpu, models)]
                       + ["    .venv/bin/python repro.py"])
        # the runtime's own version as the row recorded it (runtime_version), whichever runtime it is
        runtime = f"{row.get('runtime')} {row.get('runtime_version') or row.get(str(row.get('runtime'))) or '?'}"
        where = f"{row.get('env_id')}: torch {row.get('torch')}, onnx {row.get('onnx')}, {runtime}, " \
                f"Python {row.get('python')}"
    error = (row.get("error") or "").strip().splitlines()
    variant = row["variant"]
    docstring = "\n".join([
        f"Reproduction of one cell of the matrix: {row['case']}/{variant}, {row['exporter']} opset "
        f"{row['opset_requested']}, {row['runtime']}.", "",
        f"    cell      {row.get('cell')}",
        f"    recorded  {row.get('status')} at stage {row.get('stage')}" + (f": {error[0][:200]}" if error else ""),
        f"    where     {where}", "", *_chained(usage_lines), ""])
    script = TEMPLATE.format(
        install_shim=INSTALL_SHIM,
        docstring=literal(docstring), outputs_source=literal(WORKER_OUTPUTS.read_text(encoding="utf-8")),
        stages_source=literal(WORKER_STAGES.read_text(encoding="utf-8")), package=package, support=support,
        case_module=f"{package}.{filename[:-3]}", case_source=literal(case["source"]),
        corpus_support=_corpus_support(case),
        export_call=literal(row["export_call"]), runtime_call=literal(runtime_call),
        builder="build" if variant == "default" else f"build_{variant}",
        atol=row.get("atol"), rtol=row.get("rtol"), batchable=bool((case.get("meta") or {}).get("batchable")),
        stage_failure={stage: status.value for stage, status in STAGE_FAILURE.items()})
    commands = "\n".join(line.strip() for line in usage_lines[1:])
    return script, commands


def shell_snippet(script: str, commands: str, folder: str) -> str:
    """Copy-paste into a shell, in an empty folder: writes repro.py, installs the pins, runs it.

    The heredoc's delimiter is one no line of the script is (quoted, so the shell expands nothing in it):
    whatever a case's source holds, the shell writes it and runs none of it."""
    lines = set(script.split("\n"))
    delimiter = HEREDOC
    while delimiter in lines:
        delimiter += "_END"
    # the commands as one chain: pasted into a shell, the first that fails stops the rest
    steps = [line for line in commands.split("\n") if line and not line.startswith("#")]
    notes = [line for line in commands.split("\n") if line.startswith("#")]
    return "\n".join([f"mkdir -p {shlex.quote(folder)} && cd {shlex.quote(folder)}",
                      f"cat > repro.py <<'{delimiter}'", script.rstrip("\n"), delimiter, *notes,
                      " && \\\n".join(steps)])


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
