"""Cells whose verdict is not as-expected, grouped, each group with the narrowest ``Expect(...)`` that covers it.

    python -m matrix triage [--out DIR] [--lineup FILE]

When a new torch or onnxruntime lands, this is the list to read: a regression to fix or
report upstream, or a change to record in the case's expectations. The draft names every
filter the group's cells share (variant, exporter, runtime, options, the opsets and the
torch releases they span, replayed or not) and the part of the error they share as
``match``; the reason is for a person to write.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pandas as pd
from rich.console import Console as RichConsole
from rich.text import Text

from matrix.envs.lineup import Entry
from matrix.results.read import Results
from matrix.views.frames import current_view
from matrix.views.labels import NOT_AS_EXPECTED, Verdict, error_signature, has_providers
from matrix.wire import EXPORT_OPTIONS

LIST_AT_MOST = 12  # ops named on a console line before "+N more"
NUMBER = re.compile(r"\d[\d.]*(e[+-]?\d+)?")
MAX_MATCH = 80


def _range(chosen: list, ordered: list, label=str, upper_is_next: bool = False) -> str | None:
    """A specifier admitting exactly ``chosen`` among ``ordered`` (None: all of them, no filter needed).

    With ``upper_is_next`` the upper bound is the next value's ``<`` (an era: torch releases
    between two lineup entries behave like the older one), else ``<=`` the last chosen.
    """
    positions = sorted(ordered.index(v) for v in set(chosen) if v in ordered)
    if not positions or len(positions) == len(ordered):
        return None
    low, high = positions[0], positions[-1]
    parts = [f">={label(ordered[low])}"] if low > 0 else []
    parts += [f"!={label(ordered[p])}" for p in range(low, high + 1) if p not in positions]
    if high + 1 < len(ordered):
        parts.append(f"<{label(ordered[high + 1])}" if upper_is_next else f"<={label(ordered[high])}")
    if low == high and not upper_is_next:
        return f"=={label(ordered[low])}"
    return ",".join(parts)


def common_text(errors: list[str]) -> str:
    """The longest stretch of text every error shares (first lines), trimmed to whole words."""
    # numbers differ from machine to machine (S11's errors, shapes, node names): match the words between them
    lines = [NUMBER.sub("\0", str(e or "").strip().split("\n")[0]) for e in errors]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    shared = lines[0]
    for line in lines[1:]:
        match = difflib.SequenceMatcher(None, shared, line, autojunk=False).find_longest_match(
            0, len(shared), 0, len(line))
        shared = shared[match.a: match.a + match.size]
    text = max(shared.split("\0"), key=len).lstrip(" ,:;()").rstrip(" ,:;(")
    if len(text) > MAX_MATCH:
        text = text[:MAX_MATCH].rsplit(" ", 1)[0]
    return text if len(text) >= 4 else ""


def _draft(rows: pd.DataFrame, scope: pd.DataFrame, fields: dict, order: list[tuple[str, str]]) -> str:
    """The narrowest Expect covering ``rows``, among the cells of the same case in ``scope``."""
    if fields["verdict"] == Verdict.UNEXPECTED_PASS.value:
        reasons = sorted({str(r) for r in rows["expectation_reason"].dropna()})
        return ("remove or narrow the Expect that predicted a failure here"
                + (f" (expected {rows['expected_status'].iloc[0]}: {reasons[0]})" if reasons else ""))
    statuses = [fields["status"]]
    if fields["verdict"] == Verdict.FLAKY.value:
        statuses = sorted({s for s in rows["retry_status"].dropna()} | {s for s in rows["error"].map(_first_status)
                                                                         if s}) or statuses
    filters = [f'variant="{fields["variant"]}"', f'exporter="{fields["exporter"]}"', f'runtime="{fields["runtime"]}"']
    if has_providers(fields["runtime"]):
        filters.append(f'provider="{fields["provider"]}"')
    options = {k: bool(rows[k].iloc[0]) for k in EXPORT_OPTIONS
               if rows[k].notna().all() and rows[k].nunique() == 1 and scope[k].nunique(dropna=False) > 1}
    if options:
        filters.append(f"options={options!r}")
    peers = scope[(scope["variant"] == fields["variant"]) & (scope["exporter"] == fields["exporter"])]
    opsets = _range(sorted(rows["opset_requested"].dropna().astype(int).unique()),
                    sorted(peers["opset_requested"].dropna().astype(int).unique()))
    if opsets:
        filters.append(f'opset="{opsets}"')
    env_order = [env for env, _ in order] or sorted(set(scope["env_id"]))
    versions = dict(order)
    known = [e for e in env_order if e in set(peers["env_id"])]
    torch = _range(list(set(rows["env_id"])), known, label=lambda e: versions.get(e, e).split("+")[0],
                   upper_is_next=True) if all(e in versions for e in set(rows["env_id"])) else None
    if torch:
        filters.append(f'torch="{torch}"')
    replayed = rows["runtime_env"].astype(bool)
    if replayed.all() or (~replayed).all():
        if scope["runtime_env"].astype(bool).nunique() > 1:
            filters.append(f"replayed={bool(replayed.all())}")
    match = common_text(list(rows["error"]) if fields["verdict"] != Verdict.FLAKY.value else [])
    status = f'"{statuses[0]}"' if len(statuses) == 1 else repr(statuses)
    reason = "TODO: why this depends on the platform" if len(statuses) > 1 else "TODO"
    return (f"Expect({status}, {', '.join(filters)}" + (f", match={json.dumps(match)}" if match else "")
            + f', reason="{reason}")')


def _first_status(error: object) -> str | None:
    found = re.match(r"first run: ([a-z-]+):", str(error or ""))
    return found.group(1) if found else None


def triage(out: Path, lineup: list[Entry] | None = None) -> list[dict]:
    results = Results(out)
    return triage_view(current_view(results.rows()), lineup)


def triage_view(view: pd.DataFrame, lineup: list[Entry] | None = None) -> list[dict]:
    """The groups of a current view whose verdict is not as expected, each with a draft Expect."""
    if view.empty:
        return []
    flagged = view[view["verdict"].isin(NOT_AS_EXPECTED)].copy()
    order = [(e.id, e.torch) for e in (lineup or [])]
    flagged["signature"] = flagged["error"].map(error_signature)
    keys = ["case", "variant", "options", "exporter", "runtime", "provider", "runtime_env", "status", "verdict",
            "signature"]
    groups = []
    for key, rows in flagged.groupby(keys, dropna=False):
        fields = dict(zip(keys, key))
        scope = view[view["case"] == fields["case"]]
        envs = sorted(set(rows["env_id"]), key=lambda e: ([i for i, _ in order].index(e) if e in dict(order) else 99, e))
        groups.append({**fields, "envs": envs, "opsets": sorted(int(o) for o in rows["opset_requested"].dropna()),
                       "cells": len(rows), "draft": _draft(rows, scope, fields, order),
                       "error": str(rows["error"].iloc[0] or "")[:300]})
    return sorted(groups, key=lambda g: (g["case"], g["variant"], g["exporter"], g["runtime"]))


def print_triage(groups: list[dict]) -> None:
    if not groups:
        print("every cell is as expected")
        return
    for g in groups:
        print(f"{g['verdict'].upper()}: {g['case']}/{g['variant']} {g['options'] or ''} {g['exporter']} "
              f"{g['runtime']}{'@' + g['runtime_env'] if g['runtime_env'] else ''} -> {g['status']} "
              f"in {', '.join(g['envs'])} (opsets {', '.join(map(str, sorted(set(g['opsets']))))}; {g['cells']} cells)")
        if g["error"]:
            print(f"    error: {g['error']}")
        print(f"    draft: {g['draft']}")


def _names(values: list[str], most: int = LIST_AT_MOST) -> str:
    return ", ".join(values[:most]) + (f" +{len(values) - most} more" if len(values) > most else "")


def _covers(group: dict) -> str:
    if group["exact"]:
        return "exactly the group"
    return f"the group and {group['others']} other cell(s), {group['others_pass']} of them passing"


def print_op_triage(groups: list[dict], totals: dict, console: RichConsole | None = None) -> None:
    """The largest groups first, each a few lines: size and title, what it spans, its filter, an example."""
    console = console or RichConsole(highlight=False, soft_wrap=True)
    console.print(Text(f"{totals['failing']} failing cell(s) of {totals['cells']} in {totals['groups']} group(s); "
                       f"the {min(totals['top'], totals['groups'])} largest cover {totals['top_cells']}", style="bold"))
    for env_id, counts in totals["envs"].items():
        console.print(f"  {env_id}: {counts['failing']} failing of {counts['cells']} cells, in {counts['groups']} "
                      f"group(s); the 10 largest there cover {counts['top10']}")
    for number, g in enumerate(groups[:totals["top"]], 1):
        line = Text(f"\n{number:>3}. {g['cells']:>6} ", style="bold")
        line.append(f"{g['status']}  ", style="red" if g["not_as_expected"] else "yellow")
        line.append(g["title"], style="bold")
        console.print(line)
        console.print(Text(f"       ops ({len(g['ops'])}): {_names(g['ops'])}; dtypes: {', '.join(g['dtypes'])}; "
                           f"{', '.join(g['exporters'])} -> {', '.join(g['runtimes'])}; torch {', '.join(g['torch'])}"))
        console.print(Text(f"       filter: {g['filter_text']}  (admits {_covers(g)})", style="cyan"))
        console.print(Text(f"       e.g. {g['example']['case']} at opset {g['example']['opset']} in "
                           f"{g['example']['env_id']}: {g['example']['error'][:200]}"))
        console.print(Text(f"       {g['repro']}", style="dim"))
        if g["not_as_expected"]:
            console.print(Text(f"       {g['not_as_expected']} of these cell(s) are not as expected", style="red"))
    if totals["groups"] > totals["top"]:
        console.print(f"\n… {totals['groups'] - totals['top']} smaller group(s) not shown (--top 0 shows every one)")


def op_triage_markdown(groups: list[dict], totals: dict, title: str = "Op failures by error signature") -> str:
    """The groups as a Markdown table for an issue: one line each, the largest first."""
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    lines = [f"## {title}", "", f"{totals['failing']} failing cell(s) of {totals['cells']} in {totals['groups']} "
             f"group(s); the {min(totals['top'], totals['groups'])} largest below cover {totals['top_cells']}.", "",
             "| # | cells | status | what | ops | dtypes | filter | example |", "|---|---|---|---|---|---|---|---|"]
    for number, g in enumerate(groups[:totals["top"]], 1):
        lines.append(f"| {number} | {g['cells']} | {g['status']} | {cell(g['title'])} | {cell(_names(g['ops'], 6))} | "
                     f"{', '.join(g['dtypes'])} | `{cell(g['filter_text'])}`{'' if g['exact'] else ' (+' + str(g['others']) + ')'}"
                     f" | `{cell(g['repro'])}` |")
    if totals["groups"] > totals["top"]:
        lines += ["", f"… and {totals['groups'] - totals['top']} smaller group(s)."]
    return "\n".join(lines) + "\n"
