"""Which cells that are not as expected a new process must confirm, and which the same worker can.

A cell not as its case expects is run a second time before it counts (two agreeing runs make a
regression or an unexpected pass, two disagreeing ones a flaky cell). A new worker costs a torch
import and the exporters' warm-up, seconds each; it is spent only where the outcome can depend on
the process: a death or a hang, a case that changed the worker's state, a divergence near the
tolerance (last bits of summation order), an error that names the process's resources. Any other
failure (an exporter's UnsupportedOperatorError, a runtime refusing a node) is run again at once in
the same worker, from a clean slate with a fresh build and export.
"""
from __future__ import annotations

import math
import re
from typing import Any

from matrix.wire import Status

SAME_WORKER, FRESH_WORKER = "same worker", "fresh worker"
# within this factor of the case's tolerance a divergence may be an accident of summation order
NEAR_TOLERANCE = 10.0
PROCESS_TROUBLE = re.compile(r"MemoryError|out of memory|Too many open files|Resource temporarily unavailable|"
                             r"Cannot allocate memory|BrokenPipe|Interrupted system call", re.IGNORECASE)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def fresh_worker_reason(row: dict[str, Any]) -> str | None:
    """Why this row's second run must be in a new process, or None (the same worker confirms it)."""
    status = row.get("status")
    if status in (Status.CRASH.value, Status.TIMEOUT.value):
        return "the worker died or hung"
    if row.get("state_changed"):
        return "the case changed the worker's state"
    if PROCESS_TROUBLE.search(str(row.get("error") or "")):
        return "the error names the process's resources"
    if status == Status.DIVERGE.value:
        error, atol = _number(row.get("max_abs_err")), _number(row.get("atol"))
        if error is None or atol is None or not math.isfinite(error) or error <= NEAR_TOLERANCE * atol:
            return "a divergence near the tolerance"
    return None
