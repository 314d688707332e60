"""``bisect --torch A..B`` where A or B is no lineup entry: that end is built on demand as the releases between are
(its lineup neighbours' requires with torch replaced, pins resolved as ``lock`` does), and the cell runs there, so
the search starts from two rows measured the same way. A release the index lacks is named by the caller; an end
that cannot resolve or install is bad input here (one line, exit 2), not a skip: the search has no side without it.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable

from packaging.version import Version

from matrix.envs.lineup import Entry
from matrix.run.bisect import BisectError, disk_used, locked, run_cell

BUILT_PREFIX = "bisect-torch-"  # probe_entry's ids: an end with one was built here, not published
ENDS_FILE = "ends.json"  # the built ends' pins and rows: a second run reuses them instead of building again


def _release(entry: Entry) -> Version:
    return Version(entry.torch.split("+")[0])


def neighbours(release: str, lineup: list[Entry], newer_first: bool) -> list[Entry]:
    """The lineup entries just older and just newer than ``release``: whose requires an end outside the lineup is
    built with (the older's first, as for the releases between, unless ``newer_first``)."""
    wanted = Version(release)
    older = [e for e in lineup if _release(e) < wanted]
    newer = [e for e in lineup if _release(e) > wanted]
    found = ([max(older, key=_release)] if older else []) + ([min(newer, key=_release)] if newer else [])
    return found[::-1] if newer_first else found


def end_entry(release: str, lineup: list[Entry], newer_first: bool,
              resolve: Callable[[Entry], list[str]] | None = None) -> Entry:
    """The lineup entry of ``release``, else a temporary one with its pins resolved (BisectError naming the release
    and why when no neighbour's requires resolve with it)."""
    match = [e for e in lineup if e.torch.split("+")[0] == release]
    if match:
        return match[0]
    if resolve is None:
        from matrix.envs.lock import resolve
    entry, reason = locked(release, neighbours(release, lineup, newer_first), resolve)
    if entry is None:
        raise BisectError(f"--torch {release}: no lineup entry has it, and it cannot be built: {reason or 'no lineup'}")
    return entry


def is_built(entry: Entry) -> bool:
    return entry.id.startswith(BUILT_PREFIX)


def _reused(folder: Path, entry: Entry) -> dict[str, Any] | None:
    try:
        known = json.loads((folder / ENDS_FILE).read_text(encoding="utf-8")).get(entry.id) or {}
    except (OSError, ValueError, AttributeError):
        return None
    return known.get("row") if known.get("pins") == list(entry.pins) else None


def _remember(folder: Path, entry: Entry, row: dict[str, Any]) -> None:
    path = folder / ENDS_FILE
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    known[entry.id] = {"pins": list(entry.pins), "note": entry.note, "row": row}
    path.write_text(json.dumps(known, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")


# what ``cell_arguments`` selects the cell's run by: a built end's row carries them from another row of the cell
SELECTION = ("case", "variant", "exporter", "opset_requested", "runtime", "provider")


def built_row(entry: Entry, template: dict[str, Any], folder: Path, envs_dir: Path, keep: bool, timeout: float,
              log: Callable[[str], None]) -> tuple[dict[str, Any], int]:
    """(the cell's row in ``entry``'s environment, built under ``envs_dir`` and removed unless ``keep``; the bytes
    it took). A failure leaves nothing this call made behind."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins, ensure_env
    from matrix.envs.interpreters import InterpreterNotFound
    from matrix.run.bisect import cell_arguments, short_row
    cell = str(template["cell"]).split("@")[0]
    release = entry.torch.split("+")[0]
    reused = _reused(folder, entry)
    if reused:
        log(f"[torch {release}] end reused from {folder / ENDS_FILE}: {reused.get('status')}")
        return reused, 0
    made = [p for p in (folder, envs_dir) if not p.exists()]
    row, size = None, 0
    try:
        log(f"[torch {release}] an end outside the lineup: building it ({entry.note.removeprefix('bisect: ')})")
        python = ensure_env(entry, envs_dir=envs_dir, log=log)
        size = disk_used(envs_dir)
        row = run_cell(python, entry.id, cell, cell_arguments(template), folder / "run", timeout, log)
    except (EnvBuildError, UnresolvablePins, InterpreterNotFound) as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise BisectError(f"--torch {release}: cannot install it: {(lines or ['?'])[-1][:300]}") from None
    finally:
        if not keep:
            shutil.rmtree(envs_dir / entry.id, ignore_errors=True)
        if row is None:
            for path in made:
                shutil.rmtree(path, ignore_errors=True)
    if row is None:
        raise BisectError(f"--torch {release}: the cell wrote no row in its built environment {entry.id}")
    row = {**{k: template.get(k) for k in SELECTION}, **short_row(row), "cell": cell}
    _remember(folder, entry, row)
    return row, size


def end_rows(cell: str, ends: list[tuple[str, Entry]], sources: list[Path], folder: Path, envs_dir: Path,
             keep: bool, timeout: float, log: Callable[[str], None]) -> tuple[dict[str, dict[str, Any]], int]:
    """({good|bad: its row}, the peak bytes built): a lineup end's published row, a built end's row run here."""
    from matrix.run.reduce import find_row
    rows = {end: find_row(sources, cell, entry.id)[0] for end, entry in ends if not is_built(entry)}
    template = {**(next(iter(rows.values()), None) or any_row(sources, cell)), "cell": cell}
    peak = 0
    for end, entry in ends:
        if is_built(entry):
            rows[end], size = built_row(entry, template, folder, envs_dir, keep, timeout, log)
            peak = max(peak, size)
    return rows, peak


def any_row(sources: list[Path], cell: str) -> dict[str, Any]:
    """One row of ``cell`` from any environment: what the run in a built end selects (case, exporter, opset,
    runtime); ReduceError naming the nearest cells when none has it."""
    from matrix.results.read import Results
    from matrix.run.reduce import ReduceError, clean, find_row
    for source in sources:
        rows = Results(source.resolve()).rows()
        view = rows[rows["cell"] == cell] if not rows.empty else rows
        if not view.empty:
            return clean(view.iloc[-1].to_dict())
    find_row(sources, cell, None)  # raises, naming the nearest cells
    raise ReduceError(f"no row of cell {cell!r}")
