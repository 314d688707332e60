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
           "error_headline", "error_signature", "has_providers", "rank", "runtime_label", "runtime_short", "Status", "Verdict"]

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


# What an error's first line says where it says little: dynamo's "Failed to convert ... step 3/3" (the cause is its
# exception summary's first line) and the reference evaluator's "Issues with types" (the cause is its last "caused by")
SUMMARY = "## Exception summary"
MAX_ERROR, MAX_HEADLINE = 20_000, 500  # a read row keeps 4,000 (safe.MAX_TEXT_CHARS); a frame made elsewhere, anything
GENERIC_FIRST = ("Issues with types",)
# torch prints a tensor's values into its tracer's message: "output 1 (0  1\n 1  0\n[ CPUBoolType{5,5} ]) of ..."
TENSOR_DUMP = re.compile(r"\((?:(?!\) of ).)*?\[ [\w.]+\{[\d,]*\} \]\)", re.S)
# where a message goes on about its context, not its kind (TorchScript's graph dump, torch's candidate list, ...)
TAILS = re.compile(r"\s*(\[Caused by the value|Please feel free to request|Argument types:|Available implementations:"
                   r"|Next steps:|\. Signature: |\(Refer to the full stack).*", re.S)
# what varies between two errors of one kind: node and parameter names, addresses, paths, numbers, shapes
NAMES = [(re.compile(r"\b(node|parameter)\s*\([^)]*\)", re.I), r"\1 ()"),
         (re.compile(r"\b(name|Name):?\s*'[^']*'"), r"\1 ''"),
         (re.compile(r'In Node, \("[^"]*", (\w+),.*?, Error '), r"In Node \1: Error "),
         (re.compile(r"0x[0-9a-fA-F]+"), "ADDR"),
         (re.compile(r"(?<![\w'])/[^\s'\"),]+"), "PATH"),
         (re.compile(r"(?<=_)\d+\b"), "N"),  # generated names (Add_12, inputs_0), never an op's own digits (log1p)
         (re.compile(r"(?<![\w.])[-+]?\d+(\.\d+)?(e[+-]?\d+)?(?!\w)"), "N"),
         (re.compile(r"(?<![\w])\((N, ?)*N,?\)"), "(shape)"),
         (re.compile(r"\b(inf|nan)\b"), "N")]


def error_headline(error: object) -> str:
    """The line of an error that says what went wrong, without colours: its first line, or where that one is
    generic (dynamo's conversion step, the reference evaluator's type check) the root cause it names; tensor
    values torch printed into it and the context it appends cut."""
    # bounded: the patterns here and the titles' backtrack on one long run of word characters
    text = TENSOR_DUMP.sub("(…)", without_colours(str(error or "")[:MAX_ERROR]).strip())
    lines = [line.strip() for line in text.split("\n")]
    if SUMMARY in lines:
        after = [line for line in lines[lines.index(SUMMARY) + 1:] if line]
        lines = [re.sub(r"^<class '(?:[\w]+\.)*(\w+)'>", r"\1", after[0])] if after else lines
    elif lines and lines[0].startswith(GENERIC_FIRST):
        causes = [line for line in lines if line.startswith("caused by ")]
        lines = [causes[-1][len("caused by "):]] if causes else lines
    return TAILS.sub("", lines[0] if lines else "").strip()[:MAX_HEADLINE]


def error_signature(error: object) -> str:
    """What kind of failure an error is, for grouping (triage) and for "fails differently" (diff): its headline
    with what varies between two errors of one kind (names of nodes, paths, addresses, numbers, shapes) made
    the same; what names the gap (the operator, the dtype, the kernel) is kept."""
    text = error_headline(error)
    for pattern, replacement in NAMES:
        text = pattern.sub(replacement, text)
    # a message that only lost (or gained) its full stop is the same failure (torch 2.8 dropped aten::append's)
    return text[:200].rstrip(" .")
