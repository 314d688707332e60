"""``bug CELL``: an issue-ready Markdown report of one failing cell, from rows only (no environment needed).

Whose bug it is comes from the evidence the replay gathers: every row of the same exported file (the same sha256),
native and replayed, each runtime judged at the newest release that ran it. The file fails on every runtime's
newest release: the exporter's (the file is wrong). One runtime fails a file another runs: that runtime's, or
fixed in it where its newest release runs the file. One runtime alone ran it: undecided, with the replay to run.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from matrix.adapters import EXPORTERS, RUNTIMES, runtime_label
from matrix.views.labels import error_signature

FAILING = ("load-fail", "run-fail", "diverge", "batch-fail")
VERSION_FIELDS = ("torch", "onnx", "onnxruntime", "openvino", "onnxscript", "numpy", "protobuf", "python")


def _release(version: Any) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", str(version or "0").split("+")[0])[:3])


def _runtime_version(row: dict[str, Any]) -> str:
    return str(row.get("runtime_version") or row.get(str(row.get("runtime"))) or "?")


def _upstream(runtime: Any, provider: Any) -> str:
    for adapter in RUNTIMES.values():
        if adapter.runtime == runtime and adapter.provider == provider:
            return adapter.upstream or str(runtime)
    return str(runtime)


def _reads_spec(runtime: str, provider: str) -> bool:
    return any(a.reads_spec for a in RUNTIMES.values() if a.runtime == runtime and a.provider == provider)


def _opset(row: dict[str, Any]) -> str:
    value = row.get("opset_actual") or row.get("opset_requested")
    return str(int(value)) if isinstance(value, (int, float)) and value == value else str(value)


def newest_per_runtime(related: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each runtime's row of the file at the newest release that ran it (a later run breaks a tie)."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in related:
        if row.get("status") in (None, "skip"):
            continue
        key = (str(row.get("runtime")), str(row.get("provider")))
        if key not in newest or _release(_runtime_version(row)) >= _release(_runtime_version(newest[key])):
            newest[key] = row
    return newest


def whose(row: dict[str, Any], related: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(whose: exporter | runtime | runtime, fixed | undecided, why in a sentence, the upstream project)."""
    exporter = EXPORTERS.get(str(row.get("exporter")))
    exporter_upstream = getattr(exporter, "upstream", "") or "pytorch/pytorch"
    if row.get("status") == "export-fail":
        return "exporter", f"torch {row.get('torch')} fails to export it ({row.get('exporter')})", exporter_upstream
    newest = newest_per_runtime(related)
    said = "; ".join(f"{runtime_label(*key)} {_runtime_version(r)} ({r.get('runtime_env') or r.get('env_id')}): "
                     f"{r.get('status')}" for key, r in sorted(newest.items()))
    own_key = (str(row.get("runtime")), str(row.get("provider")))
    own = newest.get(own_key, row)
    others = {k: r for k, r in newest.items() if k != own_key}
    if own.get("status") not in FAILING:
        return ("runtime, fixed", f"{runtime_label(*own_key)} {_runtime_version(own)} runs the file that "
                f"{_runtime_version(row)} fails: {said}", _upstream(*own_key))
    if not others:
        return ("undecided", f"only {runtime_label(*own_key)} ran this file; replay it with the other runtimes "
                "(`python -m matrix replay --from results`) to tell", _upstream(*own_key))
    if all(r.get("status") in FAILING for r in others.values()):
        return "exporter", f"the file fails on every runtime's newest release here: {said}", exporter_upstream
    spec = [k for k, r in others.items() if r.get("status") in FAILING and _reads_spec(*k)]
    if spec:
        return ("exporter", f"the file is against the spec: {runtime_label(*spec[0])}, the spec's reading, fails it "
                f"too (lenient runtimes run it): {said}", exporter_upstream)
    return "runtime", f"{runtime_label(*own_key)} fails a file other runtimes run: {said}", _upstream(*own_key)


def _fence(text: str) -> list[str]:
    fence = "~~~~" if "```" in text else "```"
    return [fence, text.strip(), fence]


def _cell(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")[:160]


def _versions(row: dict[str, Any]) -> list[str]:
    lines = ["| package | version |", "|---|---|"]
    lines += [f"| {name} | {_cell(row.get(name))} |" for name in VERSION_FIELDS if row.get(name)]
    if row.get("runtime_env"):
        lines.append(f"| {row.get('runtime')} (replayed in {row['runtime_env']}) | {_runtime_version(row)} |")
    return lines


def _reduced_export(reduced: dict[str, Any], folder: str) -> list[str]:
    """An export failure's reduction: the failing op and the smallest module that fails the same way."""
    module, published = reduced.get("module") or {}, reduced.get("published") or {}
    op = f"**`{reduced.get('op')}`** (named by {reduced.get('op_from')})" if reduced.get("op") else "not found"
    lines = [f"Failing op: {op}; {len(reduced.get('candidates') or [])} one-op module(s) exported in torch "
             f"{reduced.get('torch')}.", ""]
    if not module:
        return [*lines, "No one-op module fails the same way: the failure is the module's as a whole "
                f"({reduced.get('trace_error') or 'every traced op exports alone'}).", ""]
    if module.get("case_id"):
        same = published.get("signature") == reduced.get("row_signature")
        lines.append(f"Smallest module: the operator corpus's frozen sample `{module['case_id']}` ({module.get('call')})"
                     + (f"; its published row `{published['cell']}` is {published['status']}"
                        + (" with the same signature" if same else f" (`{published.get('signature')}`)")
                        if published else "") + ".")
    else:
        lines.append(f"Smallest module: one call of `{module.get('call')}` as the case's traced graph made it "
                     "(the operator corpus has no sample of it that fails this way).")
    return [*lines, "", f"Run it: `sh {folder}/run.sh` (a clean venv with the pins above), or "
            f"`python {folder}/repro.py`; it prints:", "",
            *_fence(f"status: {module.get('status')}\nerror: {module.get('message')}"), ""]


def _reduced(cell: str, reduced: dict[str, Any] | None, folder: str) -> list[str]:
    if reduced and reduced.get("kind") == "export":
        return _reduced_export(reduced, folder)
    if not reduced or not reduced.get("reduced"):
        return [f"Not reduced yet: `python -m matrix reduce '{cell}'` writes the smallest subgraph that fails the "
                "same way, with a repro that needs only onnx, numpy and the runtime.", ""]
    lines = [f"`{folder}/reduced.onnx`: **{reduced['nodes_after']} of {reduced['nodes_before']} nodes**, failing "
             f"as the whole file does ({(reduced.get('final') or {}).get('status')}), found in "
             f"{reduced.get('tries')} tries ({reduced.get('seconds')} s) in {reduced.get('runtime_env')}; the cut's "
             f"values from {(reduced.get('values') or {}).get('reference') or 'the inputs alone'}.", "",
             "| # | op | domain | name | inputs | outputs |", "|---|---|---|---|---|---|"]
    lines += [f"| {n['index']} | {n['op_type']} | {_cell(n['domain'])} | {_cell(n['name'])} | "
              f"{_cell(', '.join(n['inputs']))} | {_cell(', '.join(n['outputs']))} |" for n in reduced["nodes"]]
    return [*lines, "", f"Run it: `sh {folder}/run.sh` (a clean venv with the pins above), or "
            f"`python {folder}/repro.py`; it prints:", "",
            *_fence(f"status: {(reduced.get('final') or {}).get('status')}\n"
                    f"error: {(reduced.get('final') or {}).get('message')}"), ""]


def bug_report(row: dict[str, Any], related: list[dict[str, Any]], history: list[dict[str, Any]],
               reduced: dict[str, Any] | None = None, reduced_folder: str = "reduce", bisected: str = "") -> str:
    """The Markdown: whose bug, the versions, what fails, the smallest repro, the file on other runtimes and
    the same cell across the lineup's releases."""
    verdict, why, upstream = whose(row, related)
    where = row.get("runtime_env") or row.get("env_id")
    lines = [f"# {row.get('case')}/{row.get('variant')}: {row.get('status')} on {runtime_label(row.get('runtime'), row.get('provider'))} "
             f"({row.get('exporter')}, opset {_opset(row)}, {where})", "",
             f"**Whose bug: {verdict}** — {why}. File it with **{upstream}**.", "",
             f"Cell `{row.get('cell')}` of environment {row.get('env_id')}.", "", "## Versions", "", *_versions(row),
             "", "## What fails", "", f"Status **{row.get('status')}** at stage {row.get('stage')}; signature "
             f"`{error_signature(row.get('error'))}`:", "", *_fence(str(row.get("error") or "(no message)")), "",
             "## Smallest reproduction", "", *_reduced(str(row.get("cell")), reduced, reduced_folder),
             f"The whole cell (build, export, run): `python -m matrix repro '{row.get('cell')}' --env {row.get('env_id')}`.",
             "", "## The same file on every runtime", "", "| runtime | release | in | status | signature |",
             "|---|---|---|---|---|"]
    for key, other in sorted(newest_per_runtime(related).items()):
        lines.append(f"| {runtime_label(*key)} | {_runtime_version(other)} | {other.get('runtime_env') or other.get('env_id')}"
                     f" | {other.get('status')} | {_cell(error_signature(other.get('error')))} |")
    lines += ["", "## The same cell across releases", "",
              bisected or "Bisect: not run (the neighbouring lineup releases below bound the change).", "",
              "| environment | torch | status | signature |", "|---|---|---|---|"]
    lines += [f"| {h.get('env_id')} | {h.get('torch')} | {h.get('status')} | {_cell(error_signature(h.get('error')))} |"
              for h in history]
    return "\n".join(lines) + "\n"
