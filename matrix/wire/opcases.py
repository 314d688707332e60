"""The frozen operator corpus as cases: one case per OpInfo (name + variant) and dtype.

A case folder holding ``opinfo.jsonl`` (written by ``python -m matrix ops freeze``) yields a case for each of
its lines. Each case's source is generated here, a small module like any hand-written case (a ``CASE`` and a
``build()``), so the catalogue, the case hash, the exports, replay and the reproductions treat it the same
way; only its expectation differs: it has none, and is judged against the published reference.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from typing import Any, Dict, Iterator, Tuple

FROZEN = "opinfo.jsonl"
# Tolerances by dtype, as torch.testing's defaults widened for a second implementation (onnxruntime's kernels
# are not torch's): exact for integers and bools, float16 at its own precision.
TOLERANCE = {"float32": (1e-4, 1e-3), "float16": (1e-2, 1e-2)}
SOURCE = '''"""{title}: OpInfo sample {sample} of torch {frozen}'s op_db, frozen (matrix/wire/opcases.py wrote this)."""
from matrix.wire import Case
from matrix.worker.opcall import OpCall

CASE = Case(title={title!r}, pitfall={pitfall!r}, corpus="ops", op={op!r}, atol={atol!r}, rtol={rtol!r},
            compare_values={values!r})
SAMPLE = {sample_data!r}


def build():
    return OpCall.of(SAMPLE)
'''


def case_id(line: Dict[str, Any]) -> str:
    """``roll.float32``, ``linalg.norm.subgradients_at_zero.float32``: the op's own dotted name."""
    parts = [line["op"]] + ([line["variant"]] if line.get("variant") else []) + [line["dtype"]]
    return ".".join(re.sub(r"[^A-Za-z0-9_.]+", "_", part) for part in parts)


def source_of(line: Dict[str, Any], frozen: str) -> str:
    name = line["op"] + ("." + line["variant"] if line.get("variant") else "")
    atol, rtol = TOLERANCE.get(line["dtype"], (0.0, 0.0))
    random = bool(line.get("random"))
    pitfall = "Does %s export and agree with eager PyTorch in %s%s?" % (
        line["call"], line["dtype"], " (a random op: shapes and dtypes only)" if random else "")
    op = {"name": name, "dtype": line["dtype"], "call": line["call"], "random": random}
    sample = {key: line[key] for key in ("call", "args", "kwargs", "tensors")}
    return SOURCE.format(title="%s (%s)" % (name, line["dtype"]), sample=json.dumps(line.get("sample") or "0"),
                         frozen=frozen, pitfall=pitfall, op=op, atol=atol, rtol=rtol, values=not random,
                         sample_data=sample)


def frozen_lines(folder: str) -> Iterator[Dict[str, Any]]:
    with open(os.path.join(folder, FROZEN)) as handle:
        for text in handle:
            if text.strip():
                yield json.loads(text)


# What builds every op case: editing it changes every op case's hash, as a folder's helpers do a case's
OPCALL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "worker", "opcall.py")


@functools.lru_cache(maxsize=1)
def _opcall_text() -> str:
    """Read once per process: every one of the corpus's 2,290 cases is hashed with it."""
    with open(OPCALL, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def source_hash(source: str) -> str:
    return hashlib.sha256((source + "\n" + _opcall_text()).encode("utf-8")).hexdigest()[:12]


def op_cases(folder: str) -> Iterator[Tuple[str, str, str]]:
    """(case id, the path it is known by, its generated source) for each frozen line of ``folder``;
    stdlib only: the host computes the cases' hashes with it, the worker loads them."""
    if not os.path.isfile(os.path.join(folder, FROZEN)):
        return
    lines = list(frozen_lines(folder))
    summary = next((line["summary"] for line in lines if "summary" in line), {})
    frozen = (summary.get("frozen_from") or {}).get("torch", "?")
    for line in lines:
        if "summary" not in line:
            identifier = case_id(line)
            yield identifier, os.path.join(folder, identifier + ".py"), source_of(line, frozen)
