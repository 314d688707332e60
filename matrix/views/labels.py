"""What the views call things: statuses (their order and colour), verdicts, runtimes, error signatures.

Statuses and verdicts are the wire's enums; runtimes are named by their adapters (the registry), so no
view spells a runtime or a status of its own. A new status is one enum member plus its line here.
"""
from __future__ import annotations

import re

from matrix.adapters import RUNTIMES, runtime_label, runtime_short
from matrix.results.read import without_colours
from matrix.wire import NOT_AS_EXPECTED, RANK, UNKNOWN_RANK, Status, Verdict

__all__ = ["FAILING", "NOT_AS_EXPECTED", "PASS", "RANK", "SKIP", "STATUS_ORDER", "STATUS_STYLE", "UNKNOWN_RANK",
           "error_signature", "has_providers", "rank", "runtime_label", "runtime_short", "Status", "Verdict"]

PASS, SKIP = Status.PASS.value, Status.SKIP.value
# Each status's cell colour, in the legend's order (best first, then the harness's own: flaky, skip)
STATUS_STYLE = {
    Status.PASS: "background: #cdeccf",
    Status.DIVERGE: "background: #ffe8a3",
    Status.BATCH_FAIL: "background: #ffd59e",
    Status.EXPORT_FAIL: "background: #f7b3b3",
    Status.LOAD_FAIL: "background: #f9c6c6",
    Status.RUN_FAIL: "background: #fbd4d4",
    Status.BUILD_FAIL: "background: #d9c2f0",
    Status.CRASH: "background: #b00020; color: #fff",
    Status.TIMEOUT: "background: #7a4b00; color: #fff",
    Status.FLAKY: "background: repeating-linear-gradient(45deg, #cdeccf, #cdeccf 4px, #ffe8a3 4px, #ffe8a3 8px)",
    Status.SKIP: "background: #f0f0f0; color: #666",
}
STATUS_ORDER = [status.value for status in STATUS_STYLE]
# Statuses of cells that ran and did not pass (what gets a reproduction)
FAILING = tuple(s for s in STATUS_ORDER if s not in (PASS, SKIP))

def rank(status: object) -> int:
    """How bad a status is (SEVERITY); one this harness does not know is worse than any it does."""
    return RANK.get(status, UNKNOWN_RANK) if isinstance(status, str) else UNKNOWN_RANK


def has_providers(runtime: object) -> bool:
    """Whether a runtime comes with several providers (onnxruntime's CPU and CUDA): then a filter names one."""
    return sum(1 for adapter in RUNTIMES.values() if adapter.runtime == runtime) > 1


def error_signature(error: object) -> str:
    """What kind of failure an error is, for grouping (triage) and for "fails differently" (diff): its first
    line without colours, paths, names in parentheses and numbers."""
    text = without_colours(str(error or "")).strip().split("\n")[0]
    text = re.sub(r"/\S+", "PATH", text)
    text = re.sub(r"\(\S*\)", "()", text)
    return re.sub(r"\d+(\.\d+)?(e[+-]?\d+)?", "N", text)[:200]
