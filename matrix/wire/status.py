"""What a cell's outcome can be: its status, the stage it reached, and its verdict.

Stdlib only, Python 3.7 syntax: host and worker both import this.
"""
from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """How far a cell got; the first failing stage names it."""

    PASS = "pass"
    BUILD_FAIL = "build-fail"
    EXPORT_FAIL = "export-fail"
    LOAD_FAIL = "load-fail"
    RUN_FAIL = "run-fail"
    DIVERGE = "diverge"
    BATCH_FAIL = "batch-fail"
    CRASH = "crash"
    TIMEOUT = "timeout"
    SKIP = "skip"
    # two runs of the cell, each in a fresh worker, ended differently: both outcomes are kept
    FLAKY = "flaky"


# What a case's Expect may name: an outcome of the pipeline (skip is the harness's, flaky a measurement's)
EXPECTABLE = tuple(s.value for s in Status if s not in (Status.SKIP, Status.FLAKY))


class Verdict(str, enum.Enum):
    """A row's status against its case's expectations."""

    AS_EXPECTED = "as-expected"
    REGRESSION = "regression"
    UNEXPECTED_PASS = "unexpected-pass"
    FLAKY = "flaky"


# Stages in pipeline order; a row's ``stage`` is the last one entered.
STAGES = ("plan", "build", "export", "check", "load", "run", "compare", "batch", "time", "place")

# The status a failure in each stage gives (check never fails a cell: its verdict is a field).
STAGE_FAILURE = {
    "build": Status.BUILD_FAIL,
    "export": Status.EXPORT_FAIL,
    "load": Status.LOAD_FAIL,
    "run": Status.RUN_FAIL,
    "compare": Status.DIVERGE,
    "batch": Status.BATCH_FAIL,
    "time": Status.RUN_FAIL,
    "place": Status.RUN_FAIL,
}

# Lower is better: compare and diff call a move up this list a regression.
SEVERITY = {
    Status.PASS: 0, Status.SKIP: 0, Status.FLAKY: 1, Status.DIVERGE: 1, Status.BATCH_FAIL: 2,
    Status.RUN_FAIL: 3, Status.LOAD_FAIL: 4, Status.EXPORT_FAIL: 5, Status.BUILD_FAIL: 6,
    Status.TIMEOUT: 7, Status.CRASH: 8,
}
