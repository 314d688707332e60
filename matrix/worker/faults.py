"""Fault injection for the harness's own tests: make a stage of one case crash, hang or blow up.

Set ``MATRIX_INJECT_FAULT=case:stage:kind[,...]`` in the host's environment (the worker
inherits it); kind is ``segv`` (a NULL read), ``abort``, ``hang``, ``oom`` or ``slow`` (one
second, to make a run long enough to be killed mid-way). Stage ``after`` is the moment after
the worker sent a cell's row and before it reads the next request: a death between cells. It stands in
for the native crashes real exporters and runtimes have (torch 1.4's checker segfault),
at any stage, without waiting for one to turn up.
"""
from __future__ import annotations

import ctypes
import os
import time

VARIABLE = "MATRIX_INJECT_FAULT"


def _faults() -> dict:
    table = {}
    for item in os.environ.get(VARIABLE, "").split(","):
        parts = item.strip().split(":")
        if len(parts) == 3:
            table[(parts[0], parts[1])] = parts[2]
    return table


def maybe_inject(case: str, stage: str) -> None:
    kind = _faults().get((case, stage))
    if kind is None:
        return
    if kind == "segv":
        ctypes.string_at(0)
    elif kind == "abort":
        os.abort()
    elif kind == "hang":
        time.sleep(10 ** 6)
    elif kind == "slow":
        time.sleep(1)
    elif kind == "oom":
        hog = []
        while True:  # until the worker's memory limit (or the kernel) stops it
            hog.append(bytearray(256 * 1024 * 1024))
    else:
        raise ValueError("%s: unknown fault kind %r" % (VARIABLE, kind))
