"""The bench's side-by-side with a peer: onnx-diagnostic's own evaluation() over its eval cases against the
matrix running the same models as a dropped-in --cases-dir (both exporters, onnxruntime CPU), one after the
other in one run, each with its imports and (the matrix's) worker starts included.

The case modules are generated, not imported from onnx-diagnostic: its package imports transformers (about
8 s), which is the peer's cost, not the models'. Each class's source is copied into a module of its own with
the two names model_cases.py defines for it (DIM, DYN) and, for VmapPython, onnx-diagnostic's patched_vmap.
Both sides run in one interpreter (``--peer-python``, which needs onnx-diagnostic beside torch).
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

PEER = "onnx-diagnostic"
# Run inside the peer's interpreter: every eval case's class source as JSON (the host never imports torch)
SOURCES = r"""
import inspect, json, re, sys
from onnx_diagnostic.torch_export_patches.eval import discover
from onnx_diagnostic.torch_export_patches.patches import patch_torch
vmap = inspect.getsource(patch_torch.patched_vmap).replace("from ...helpers import string_type", "string_type = lambda value, **options: repr(value)")
cases = {name: inspect.getsource(cls) for name, cls in discover().items()}
json.dump({"cases": cases, "patched_vmap": vmap}, sys.stdout)
"""
# Run inside the peer's interpreter and timed whole, its imports included: its own evaluation() as documented
EVALUATE = r"""
import json, sys, time
started = time.perf_counter()
from onnx_diagnostic.torch_export_patches.eval import evaluation
imported = time.perf_counter()
obs = evaluation(exporters=tuple(sys.argv[1].split(",")), dynamic=(False,), quiet=True)
done = time.perf_counter()
print(json.dumps({"cells": len(obs), "passed": sum(int(o.get("success", 0)) for o in obs),
                  "imports_s": round(imported - started, 2), "cells_s": round(done - imported, 2)}))
"""
# onnx-diagnostic's two exporters that give an ONNX file without its experimental_experiment package
PEER_EXPORTERS = "dynamo,dynamo-ir"
MODULE = '''"""onnx-diagnostic's eval case {name} (onnx_diagnostic/torch_export_patches/eval/model_cases.py), copied."""
import numpy as np  # noqa: F401
import torch

DIM = torch.export.Dim
DYN = torch.export.Dim.DYNAMIC
{vmap}

{source}

def build():
    inputs = {name}._inputs
    return {name}(), (inputs[0] if isinstance(inputs, list) else inputs)
'''


def write_cases(python: str, folder: Path) -> int:
    """The peer's eval cases as case modules in ``folder``: how many."""
    done = subprocess.run([python, "-c", SOURCES], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("")
    for name, source in found["cases"].items():
        vmap = found["patched_vmap"] if "patched_vmap" in source else ""
        (folder / f"{name}.py").write_text(MODULE.format(name=name, source=source, vmap=vmap))
    return len(found["cases"])


def has_peer(python: str) -> bool:
    done = subprocess.run([python, "-c", "import onnx_diagnostic"], capture_output=True)
    return done.returncode == 0


def peer_evaluation(python: str, exporters: str = PEER_EXPORTERS) -> dict:
    """onnx-diagnostic's evaluation() with these exporters, timed as a user runs it (imports included)."""
    started = time.perf_counter()
    done = subprocess.run([python, "-c", EVALUATE, exporters], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    return dict(json.loads(done.stdout.strip().splitlines()[-1]), wall_s=round(wall, 2))
