"""One-line titles of op failure groups, written from the messages ("onnxruntime has no Where(9) kernel for bool"),
and a signature's family (the same failure whichever operator it names).

A title rule is a pattern over an error's headline (``labels.error_headline``) and a template that fills in what the
pattern found and what the group spans (its dtypes, opsets, runtimes); the first rule that matches the group's
first headline writes the title, and a value that differs across the group's headlines is listed ("Where(9, 16)").
A headline no rule knows is its own title.
"""
from __future__ import annotations

import re
from typing import Callable

TITLE_CHARS = 160


def _opsets(opsets: list[int]) -> str:
    """``7-20``, ``9, 11 and 18``, ``13``: the opsets a group spans, short."""
    if not opsets:
        return "?"
    if len(opsets) > 2 and opsets == list(range(opsets[0], opsets[-1] + 1)):
        return f"{opsets[0]}-{opsets[-1]}"
    return ", ".join(map(str, opsets[:-1])) + (" and " if len(opsets) > 1 else "") + str(opsets[-1])


def _runtime_names(runtimes: list[str]) -> str:
    names = sorted({r.split("/")[0].split("@")[0] for r in runtimes})
    return " and ".join(n.replace("reference", "the reference evaluator") for n in names) or "the runtime"


# (pattern, template): {name} is what the pattern captured (every value among the group's headlines), {dtypes},
# {opsets}, {runtime}, {exporter} and {ops} what the group spans
RULES: list[tuple[re.Pattern, str]] = [(re.compile(p), t) for p, t in [
    (r"NOT_IMPLEMENTED : Could not find an implementation for (?P<op>\w+)\((?P<v>\d+)\)",
     "{runtime} has no {op}({v}) kernel for {dtypes}"),
    (r"Exporting the operator '(?P<op>[\w:.]+)' to ONNX opset version \d+ is not supported\. Support for this "
     r"operator was added in version (?P<v>\d+)",
     "Exporting the operator '{op}' to ONNX opset version {opsets} is not supported (it is from opset {v})"),
    (r"Exporting the operator '(?P<op>[\w:.]+)' to ONNX opset version \d+ is not supported",
     "Exporting the operator '{op}' to ONNX opset version {opsets} is not supported"),
    (r"No ONNX function found for <OpOverload\(op='(?P<op>[\w.]+)'.*?Failure message: (?P<why>No decompositions "
     r"registered for the [\w-]+ input)", "{exporter}: no ONNX function for {op} ({why}; {dtypes})"),
    (r"No decompositions registered for (?P<why>.*)", "{exporter}: no decompositions registered for {why}"),
    (r"Type Error: Type '(?P<t>tensor\(\w+\))' of input parameter .* of operator \((?P<op>\w+)\)",
     "{exporter}: {op} on {t}, a model {runtime} refuses as invalid"),
    (r"No Op registered for (?P<op>\w+) with domain_version of (?P<v>\d+)", "{runtime} has no {op} at opset {v}"),
    (r"(?P<op>[\w.]+)\((?P<v>-?\d+)\) is not a registered function/op", "{runtime} has no {op}({v})"),
    (r"No registered (?:implementation|schema) for operator '(?P<op>\w+)'", "{runtime} has no {op}"),
    (r"ONNX export failed on (?P<op>\w+), which is not implemented for opset \d+",
     "{exporter} has no {op} at opset {opsets}"),
    (r"Unsupported: ONNX export of operator (?P<what>[^.]+)", "{exporter} cannot export {what} ({dtypes})"),
    (r"Unsupported: ONNX export of (?P<op>\w+) in opset \d+\. Please try opset version (?P<v>\d+)",
     "{exporter} has no {op} at opset {opsets} (from opset {v})"),
    (r"^max abs error (?P<e>\S+), max rel error", "{ops} diverges from eager PyTorch on {runtime} ({dtypes})"),
    (r"^output \d+ has shape", "{runtime} gives another shape than eager PyTorch ({dtypes})"),
    (r"Output type mismatch: input '(?P<i>\w+)' != output '(?P<o>\w+)' \(operator '(?P<op>\w+)'\)",
     "{runtime}: {op} on {i} gives {o}"),
    (r"(?P<op>\w+) does not support integer input \(got (?P<t>\w+)\)", "{runtime}: {op} does not take {t}"),
    (r"We don't have an op for (?P<op>[\w:.]+) but it isn't a special case",
     "{exporter}: torch's JIT has no {op} for these arguments (internal assert)"),
    (r"of traced region did not have observable data dependence", "{exporter}: an output does not depend on the "
                                                                  "inputs (the tracer cannot follow it; {dtypes})"),
]]


def title(headlines: list[str], status: str, dtypes: list[str], runtimes: list[str], exporters: list[str],
          opsets: list[int], ops: list[str]) -> str:
    """A group's title from its errors' headlines (the first decides the rule) and what it spans."""
    first = next((h for h in headlines if h), "")
    if not first:
        return f"{status} with no error recorded ({', '.join(dtypes)})"
    for pattern, template in RULES:
        found = pattern.search(first)
        if found is None:
            continue
        values = {name: _every(pattern, headlines, name) for name in found.groupdict()}
        text = template.format(**values, dtypes=_listed(dtypes), opsets=_opsets(opsets),
                               runtime=_runtime_names(runtimes), exporter=" and ".join(exporters) or "the exporter",
                               ops=_listed(ops, 3))
        return _short(text)
    return _short(first)


def _every(pattern: re.Pattern, headlines: list[str], name: str) -> str:
    """Every value a named part takes among the headlines, in order of first sight: ``9, 16``."""
    seen: dict[str, None] = {}
    for headline in headlines:
        found = pattern.search(headline)
        if found and found.group(name) is not None:
            seen.setdefault(found.group(name).strip(), None)
    values = sorted(seen, key=int) if all(v.lstrip("-").isdigit() for v in seen) else list(seen)
    return ", ".join(values[:6]) + (", …" if len(values) > 6 else "")


def _listed(values: list[str], most: int = 5) -> str:
    return ", ".join(values[:most]) + (f" and {len(values) - most} more" if len(values) > most else "")


def _short(text: str) -> str:
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


# what names the operator in a signature: its quoted names, the ONNX op in parentheses, an aten/prims name
FAMILY: list[tuple[re.Pattern, str | Callable]] = [
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r"<OpOverload\([^>]*\)>"), "<OpOverload(…)>"),
    (re.compile(r"\b(operator|Op|for|of|on|running) \(?[A-Z]\w*\)?(?=[\s(:.,]|$)"), r"\1 …"),
    (re.compile(r"\b(aten|prims)::?\w+"), r"\1::…"),
    (re.compile(r"\b(export failed on|export of operator|export of) [\w.]+"), r"\1 …"),
    (re.compile(r"tensor\(\w+\)"), "tensor(…)"),
]


def family(signature: str) -> str:
    """The signature without the operator (and dtype) it names: "Exporting the operator '…' to ONNX opset version
    N is not supported" is one family of every op TorchScript has no symbolic for."""
    for pattern, replacement in FAMILY:
        signature = pattern.sub(replacement, signature)
    return signature
