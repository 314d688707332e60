"""One definition of everything host and worker share: stdlib only, Python 3.7 syntax.

    status     statuses, verdicts, stages and the status each stage's failure gives
    cell       the cell, its key and the keys of what it shares
    row        the result row, its schema version and migrations
    protocol   the framing between host and worker
    contract   the case contract (Case, Expect) and how a row is judged against it
    versions   version specifiers, read the same way in every environment
    gpu        whether this machine has an NVIDIA GPU (nvidia-smi)
"""
from matrix.wire.cell import DEFAULT_OPSETS, EXPORT_OPTIONS, Cell, options_label
from matrix.wire.contract import Case, CaseError, Expect, case_hash, judge
from matrix.wire.row import INT_FIELDS, REQUIRED_FIELDS, ROW_FIELDS, SCHEMA_VERSION, VERSION_FIELDS, Row
from matrix.wire.status import EXPECTABLE, NOT_AS_EXPECTED, RANK, SEVERITY, STAGE_FAILURE, UNKNOWN_RANK, Status, Verdict

__all__ = ["Case", "CaseError", "Cell", "DEFAULT_OPSETS", "EXPECTABLE", "EXPORT_OPTIONS", "Expect", "INT_FIELDS",
           "NOT_AS_EXPECTED", "RANK", "REQUIRED_FIELDS", "ROW_FIELDS", "Row", "SCHEMA_VERSION", "SEVERITY",
           "STAGE_FAILURE", "Status", "UNKNOWN_RANK", "VERSION_FIELDS", "Verdict", "case_hash", "judge",
           "options_label"]
