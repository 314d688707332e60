"""The bisect's answer in words, from its state file only (so ``bug CELL`` can say it too)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.version import Version

NOTES = "https://github.com/pytorch/pytorch/releases/tag/v{}"


def read_state(folder: Path, cell: str) -> dict[str, Any] | None:
    """The finished state of ``cell``'s bisect under ``folder``, or None."""
    try:
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("cell") == cell and state.get("answer") else None


def _row(state: dict[str, Any], release: str) -> dict[str, Any] | None:
    for end in ("good", "bad"):
        if state["ends"][end].get("release") == release:
            return state["ends"][end]
    return (state["probes"].get(release) or {}).get("row")


def _first_line(row: dict[str, Any] | None) -> str:
    if not row:
        return "no row (the run wrote none)"
    error = (row.get("error") or "").strip().splitlines()
    return f"{row.get('status')}" + (f": {error[0][:200]}" if error else "")


def _where(state: dict[str, Any], release: str) -> str:
    for end in ("good", "bad"):
        if state["ends"][end].get("release") == release:
            if str(state["ends"][end].get("env_id")).startswith("bisect-"):  # an end outside the lineup
                return f"no lineup entry: built and run here as {state['ends'][end]['env_id']}"
            again = state["ends"][end].get("verified")
            return (f"lineup entry {state['ends'][end]['env_id']}, published row"
                    + (f"; run again here: {again}" if again else "; not run again here (not built)"))
    probe = state["probes"].get(release) or {}
    return str(probe.get("base", ""))


def headline(state: dict[str, Any]) -> str:
    """One line: the release the cell changed in, and between which two."""
    answer = state["answer"]
    good, bad = answer["good"], answer["bad"]
    newer = max(good, bad, key=Version)
    verb = "broke" if Version(good) < Version(bad) else "fixed"
    where = f"torch {newer}" if not answer["untested"] else f"torch {min(good, bad, key=Version)} .. {newer}"
    gap = f" ({', '.join(answer['untested'])} could not be built)" if answer["untested"] else ""
    other = f"; {bad} is neither end's outcome" if answer["outcomes"].get(bad) == "other" else ""
    return f"{state['cell']}: {verb} in {where}, between {good} and {bad}{gap}{other}"


def answer_lines(state: dict[str, Any]) -> list[str]:
    """The answer first: the two neighbouring releases with their rows, the notes links, skips, others, costs."""
    answer = state["answer"]
    lines = [headline(state)]
    for release in (answer["good"], answer["bad"]):
        kind = answer["outcomes"].get(release)
        lines.append(f"  torch {release} [{kind}]: {_first_line(_row(state, release))}   ({_where(state, release)})")
    lines.append("  release notes: " + ", ".join(NOTES.format(r) for r in sorted({answer["good"], answer["bad"]},
                                                                                  key=Version)))
    then = answer.get("then")
    if then:
        lines.append(f"  and torch {then['good']} [as {answer['bad']}] / torch {then['bad']} [as "
                     f"{state['ends']['bad']['env_id']}]: the other change is in torch "
                     f"{max(then['good'], then['bad'], key=Version)}"
                     + (f" ({', '.join(then['untested'])} could not be built)" if then["untested"] else "")
                     + f"; {NOTES.format(max(then['good'], then['bad'], key=Version))}")
    ends = {state["ends"][e]["release"] for e in ("good", "bad")
            if not str(state["ends"][e].get("env_id")).startswith("bisect-")}  # a built end has the probes' pins
    if ends & {answer["good"], answer["bad"]} and len(ends & {answer["good"], answer["bad"]}) < 2:
        lines.append("  note: one side is the lineup entry itself; its other pins (onnx, onnxruntime, onnxscript, "
                     "numpy) differ from the built releases', so the change may be theirs rather than torch's")
    for release, probe in state["probes"].items():
        if probe["outcome"] == "skip":
            lines.append(f"  skipped torch {release}: {probe.get('reason')}")
        elif probe["outcome"] == "other":
            lines.append(f"  other at torch {release}: {_first_line(probe.get('row'))}")
    built = [r for r, p in state["probes"].items() if p["outcome"] != "skip"]
    cost = state.get("cost") or {}
    lines.append(f"  ran {len(built)} release(s): {', '.join(built) or 'none'}; wall time {cost.get('wall_s', '?')} s; "
                 f"peak disk {cost.get('peak_gb', '?')} GB in the bisect's environments "
                 f"(free space fell by at most {cost.get('peak_drop_gb', '?')} GB, downloads into the uv cache included)"
                 + (f"; this run reused every row: {cost['rerun_s']} s" if cost.get("rerun_s") is not None else ""))
    return lines


def bug_line(state: dict[str, Any] | None) -> str:
    """The bug report's bisect sentence."""
    if state is None:
        return "Bisect: not run (the neighbouring lineup releases below bound the change)."
    answer = state["answer"]
    notes = " ".join(f"[v{r}]({NOTES.format(r)})" for r in sorted({answer["good"], answer["bad"]}, key=Version))
    return f"Bisect: {headline(state)}. Release notes: {notes}."
