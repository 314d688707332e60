"""A release diff as Markdown (``watch`` writes one per new entry into ``reports/watch/<entry>.md``; its workflow makes
it a pull request's description): the cells that broke, got fixed or fail differently (``views/diff.py``), grouped
by change, then exporter, runtime and error signature, each cell with the command that writes its reproduction.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd

from matrix.envs.lineup import Entry
from matrix.paths import DEFAULT_OUT, REPO_ROOT
from matrix.results.read import Results
from matrix.views.diff import CHANGES, KEY, release_diff, summaries
from matrix.views.frames import current_view
from matrix.views.labels import error_signature, runtime_label
from matrix.views.opsets import cells

LINES_PER_GROUP = 20  # a group of a hundred cells of one signature says it with twenty
TITLES = {"broke": "Broke", "fixed": "Fixed", "fails differently": "Fails differently"}
VERSIONS = ("torch", "onnx", "onnxruntime", "onnxscript", "onnx-ir", "numpy", "protobuf", "openvino")


def env_view(folders: list[Path], env_ids: list[str]) -> tuple[pd.DataFrame, dict[str, Path]]:
    """The current rows of each environment from the first folder that has any (a fresh run's out folder, then the
    published results), and where each came from."""
    views: list[pd.DataFrame] = []
    where: dict[str, Path] = {}
    for folder in dict.fromkeys(f.resolve() for f in folders):
        if not (folder / "runs").is_dir() or all(e in where for e in env_ids):
            continue
        view = current_view(Results(folder).rows())
        for env_id in env_ids:
            if env_id not in where and (view["env_id"] == env_id).any():
                where[env_id] = folder
                views.append(view[view["env_id"] == env_id])
    return (pd.concat(views, ignore_index=True) if views else pd.DataFrame()), where


def _code(text: object, limit: int = 240) -> str:
    """Text as inline Markdown code on one line: no backtick or newline in it can end the span."""
    line = " ".join(str(text or "").split())
    line = line if len(line) <= limit else line[:limit - 1] + "…"
    return "`` " + line.replace("`", "'") + " ``" if line else ""


def _compared(view: pd.DataFrame, before: str, after: str) -> int:
    """How many cells both environments ran (what "nothing changed" is about)."""
    table = cells(view)
    table = table[(table["runtime_env"].fillna("") == "") & (table["status"] != "skip")]
    sides = [table[table["env_id"] == env_id][KEY].drop_duplicates() for env_id in (before, after)]
    return len(sides[0].merge(sides[1], on=KEY))


def _cell_ids(view: pd.DataFrame, frame: pd.DataFrame, env_id: str, column: str) -> pd.DataFrame:
    """``frame`` with the cell key (as ``repro`` takes it) of its row in ``env_id``, as ``column``."""
    table = cells(view)
    table = table[(table["env_id"] == env_id) & (table["runtime_env"].fillna("") == "")][[*KEY, "cell"]]
    return frame.merge(table.rename(columns={"cell": column}), on=KEY, how="left")


def _repro(cell: object, env_id: str, folder: Path | None) -> str:
    if not isinstance(cell, str) or not cell:
        return ""
    out = "" if folder is None or folder == DEFAULT_OUT.resolve() else f" --out {shlex.quote(_shown(folder))}"
    return f"`python -m matrix repro {shlex.quote(cell)} --env {env_id}{out}`"


def _shown(folder: Path | None) -> str:
    """A folder as a reader of the repository names it (``results``), an outside one as it is."""
    if folder is None:
        return "?"
    return str(folder.relative_to(REPO_ROOT)) if folder.is_relative_to(REPO_ROOT) else str(folder)


def _pins_changed(before: Entry | None, after: Entry | None) -> list[str]:
    if before is None or after is None:
        return []
    changed = [f"{name} {before.pin(name) or '—'} → {after.pin(name) or '—'}" for name in VERSIONS
               if before.pin(name) != after.pin(name)]
    return changed or ["the same pins"]


def markdown(view: pd.DataFrame, before: str, after: str, entries: dict[str, Entry], where: dict[str, Path]) -> str:
    """The whole diff of ``after`` against ``before`` as Markdown."""
    frame = release_diff(view, before, after)
    frame = _cell_ids(view, _cell_ids(view, frame, before, "cell_before"), after, "cell_after")
    counts = frame["change"].value_counts().to_dict() if len(frame) else {}
    compared = _compared(view, before, after)
    lines = [f"# {after} against {before}", "",
             "Pins: " + "; ".join(_pins_changed(entries.get(before), entries.get(after))) + ".", "",
             "**" + ", ".join(f"{counts.get(c, 0)} {c}" for c in CHANGES) + "** (a cell is one exported file on one "
             f"runtime; {compared} cells ran in both; rows of {before} from `{_shown(where.get(before))}`, of {after} from "
             f"`{_shown(where.get(after))}`).", ""]
    if frame.empty:
        return "\n".join([*lines, "Nothing changed between the two: every cell both ran has the same outcome.", ""])
    for axis, items in summaries(frame).items():
        lines += [f"| {axis} | " + " | ".join(CHANGES) + " |", "|---|" + "---|" * len(CHANGES)]
        lines += [f"| {item['name']} | " + " | ".join(str(item[c]) for c in CHANGES) + " |" for item in items]
        lines.append("")
    for change in CHANGES:
        part = frame[frame["change"] == change]
        if len(part):
            lines += [f"## {TITLES[change]}: {len(part)}", "", *_groups(part, change, before, after, where)]
    return "\n".join(lines)


def _groups(part: pd.DataFrame, change: str, before: str, after: str, where: dict[str, Path]) -> list[str]:
    """One section per exporter, runtime and error signature (the failing side's: before's for a fix)."""
    side = "before" if change == "fixed" else "after"
    part = part.assign(runtime_name=[runtime_label(r, p) for r, p in zip(part["runtime"], part["provider"])],
                       signature=part[f"error_{side}"].map(lambda e: error_signature(e) if isinstance(e, str) else ""))
    lines = []
    for (exporter, runtime, signature), group in part.groupby(["exporter", "runtime_name", "signature"], sort=True):
        title = f"### {exporter} · {runtime} · {len(group)} cell(s)"
        lines += [title, "", f"Error: {_code(signature)}" if signature else "No error recorded.", ""]
        env_id = before if change == "fixed" else after
        for row in group.head(LINES_PER_GROUP).itertuples():
            options = f" ({row.options})" if row.options else ""
            was = (f" (was {_code(error_signature(row.error_before), 120)})"
                   if change == "fails differently" and isinstance(row.error_before, str) else "")
            lines.append(f"- `{row.case}/{row.variant}` {row.opset_label}{options}: {row.status_before} → "
                         f"**{row.status_after}**{was} — {_repro(getattr(row, f'cell_{side}'), env_id, where.get(env_id))}")
        if len(group) > LINES_PER_GROUP:
            lines.append(f"- … and {len(group) - LINES_PER_GROUP} more of this signature")
        lines.append("")
    return lines


def write_markdown(path: Path, text: str) -> Path:
    """Written whole (a temporary file renamed), so a reader never sees half a diff."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    tmp.replace(path)
    return path
