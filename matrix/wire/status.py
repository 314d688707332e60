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

    @property
    def not_as_expected(self) -> bool:
        """Not what the case expects: what triage lists and compare counts (a flaky cell is, though it is
        never a regression)."""
        return self is not Verdict.AS_EXPECTED

    @property
    def needs_confirmation(self) -> bool:
        """A verdict the runner confirms in a fresh worker before it stands (both runs agreeing)."""
        return self in (Verdict.REGRESSION, Verdict.UNEXPECTED_PASS)


# The verdicts of cells that are not as expected, as rows spell them (the views filter on these)
NOT_AS_EXPECTED = tuple(v.value for v in Verdict if v.not_as_expected)


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

# Lower is better: compare and diff call a move up this list a regression; views order statuses by it.
SEVERITY = {
    Status.PASS: 0, Status.SKIP: 0, Status.FLAKY: 1, Status.DIVERGE: 1, Status.BATCH_FAIL: 2,
    Status.RUN_FAIL: 3, Status.LOAD_FAIL: 4, Status.EXPORT_FAIL: 5, Status.BUILD_FAIL: 6,
    Status.TIMEOUT: 7, Status.CRASH: 8,
}

# SEVERITY by the status's wire name; a status this harness does not know ranks worse than any it does
RANK = {status.value: rank for status, rank in SEVERITY.items()}
UNKNOWN_RANK = max(RANK.values()) + 1
