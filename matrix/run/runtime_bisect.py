"""``bisect CELL --onnxruntime A..B``: the onnxruntime release where a cell changed, the exported file held fixed.

The cell's published exported file (``--files ENV``'s, default ``--env``'s) is replayed on ort-cpu by the entry's
pins with each onnxruntime release instead of its own, built on demand as the runtime axis builds them
(``run/runtimes.py``); both ends are run here first (good is A's status and error signature, bad B's), then
``run/bisect.py``'s search and state do the rest: a release with no wheel for the Python, or that cannot resolve
or import beside the pins, is skipped with its reason (git bisect's 125).
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from packaging.version import Version

from matrix.run import bisect, ortindex
from matrix.run.runtimes import AxisRun, resolved, run_release

ADAPTER = "ort-cpu"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnxruntime", help="A..B: bisect over onnxruntime releases instead, the cell's published "
                        "exported file held fixed (A good, B bad; --index-file then lists onnxruntime's releases)")
    parser.add_argument("--env", help="with --onnxruntime: the lineup entry whose pins each release is built beside "
                        "(default the newest)")
    parser.add_argument("--files", help="with --onnxruntime: whose exported file (default --env)")


def base_cell(cell: str) -> str:
    """The cell without its runtime environment (``...@torch-2.13.0-ort1.20.1``): a replay's key names it."""
    return cell.split("@")[0]


def cell_selection(cell: str) -> str:
    """The --cases regular expression of a cell key's case and variant."""
    parts = base_cell(cell).split("/")
    if len(parts) < 7 or parts[-2] != "onnxruntime" or parts[-1] != "CPUExecutionProvider":
        raise bisect.BisectError(f"cell {cell!r}: not an onnxruntime CPU cell (case/variant/exporter/opsetN/options/"
                                 "onnxruntime/CPUExecutionProvider)")
    return "^" + re.escape(f"{parts[0]}/{parts[1]}") + "$"


@dataclasses.dataclass
class Prober:
    """Builds a release, replays the cell's file on it and returns its row; the state remembers every probe."""
    entry: Any
    axis: AxisRun
    cell: str
    state: Any
    data: dict[str, Any]
    resolve: Callable

    def row(self, release: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        from matrix.results.read import RUN_ORDER, Results
        why = ortindex.wheel_reason(self.data["releases"].get(release) or [], self.entry.python)
        variant, reason = (None, why) if why else resolved(self.entry, release, self.resolve)
        if variant is None:
            return None, {"outcome": "skip", "reason": reason}
        record = run_release(variant, self.axis)
        self.state.peak_bytes = max(self.state.peak_bytes, (record.get("disk") or {}).get("files_mb", 0) * 2**20)
        self.state.peak_drop = max(self.state.peak_drop, (record.get("disk") or {}).get("free_drop_mb", 0) * 2**20)
        if record["outcome"] != "ran":
            return None, {"outcome": "skip", "reason": record.get("reason"), "seconds": record["seconds"]}
        rows = Results(self.axis.out).rows()
        view = rows[(rows["cell"] == f"{base_cell(self.cell)}@{variant.id}") & rows["env_id"].isin(self.axis.files)]
        found = bisect.short_row(view.sort_values(RUN_ORDER).iloc[-1].to_dict()) if not view.empty else None
        if found is not None:
            found["onnxruntime"] = view.iloc[-1].get("runtime_onnxruntime")
        return found, {"seconds": record["seconds"], "base": f"{self.entry.id}'s pins, onnxruntime {release}",
                       "pins": record.get("pins")}

    def __call__(self, release: str) -> str:
        known = self.state.probes.get(release)
        if known:
            return known["outcome"]
        row, record = self.row(release)
        if record.get("outcome") != "skip":
            record.update(outcome=bisect.judge(row, self.state.ends["good"], self.state.ends["bad"]), row=row)
        self.state.probes[release] = record
        self.state.save()
        self.axis.log(f"[onnxruntime {release}] {record['outcome']}" + (f": {record['reason']}" if record.get("reason") else ""))
        return record["outcome"]


def releases_between(data: dict[str, Any], spec: str, pre: bool) -> list[str]:
    """A, every release strictly between, B (the order good end first), each checked against the index."""
    every = ortindex.finals(data, pre)
    if spec.count("..") != 1 or not all(part.strip() for part in spec.split("..")):
        raise bisect.BisectError(f"--onnxruntime {spec!r}: say A..B (the good release, then the bad one)")
    good, bad = (ortindex.pick(every, part.strip()) for part in spec.split(".."))
    if good == bad:
        raise bisect.BisectError(f"--onnxruntime {spec}: both ends are onnxruntime {good}")
    inner = bisect.between(every, good, bad)
    if not inner:
        raise bisect.BisectError(f"--onnxruntime {spec}: no onnxruntime release between {good} and {bad} on the index")
    return [good, *inner, bad]


def _ends(folder: Path, cell: str, releases: list[str]) -> dict[str, dict[str, Any]]:
    """The ends an earlier run of the same bisect judged (so its state, every probe's row, is reused), else the
    two releases alone, to be run first."""
    import json
    try:
        old = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        ends = {e: {k: v for k, v in old["ends"][e].items() if k != "verified"} for e in ("good", "bad")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ends = {}
    if ends and old.get("cell") == cell and [ends["good"].get("release"), ends["bad"].get("release")] == [releases[0], releases[-1]]:
        return ends
    return {"good": {"release": releases[0]}, "bad": {"release": releases[-1]}}


def run(args: argparse.Namespace, log: Callable[[str], None]) -> list[str]:
    """The runtime bisect end to end: its answer in lines (BisectError for bad input, before anything is built)."""
    from matrix.envs.lineup import find_entry, load_lineup
    from matrix.envs.lock import resolve
    from matrix.paths import DEFAULT_OUT, RESULTS_DIR
    from matrix.results.safe import inside, slug
    from matrix.run.plan import parse_selection
    started = time.monotonic()
    lineup = load_lineup(args.lineup)
    entry = find_entry(lineup, args.env) if args.env else lineup[-1]
    files = args.files or entry.id
    data = ortindex.read_index(args.index_file)
    releases = releases_between(data, args.onnxruntime, args.pre)
    folder = (args.out or inside(DEFAULT_OUT, "bisect", slug(base_cell(args.cell) + "@ort"))).resolve()  # workers run elsewhere
    source = (args.sources or [RESULTS_DIR])[0].resolve()
    axis = AxisRun(out=folder / "run", source=source, files={files}, envs_dir=args.envs_dir.resolve(), keep=args.keep,
                   selection=parse_selection(cell_selection(args.cell), None, None, ADAPTER), timeout=args.timeout, log=log)
    state = bisect.Bisect(folder, base_cell(args.cell), _ends(folder, base_cell(args.cell), releases),
                          [ADAPTER], [entry.id, files, "onnxruntime"])
    prober = Prober(entry, axis, args.cell, state, data, resolve)
    fresh_envs = not axis.envs_dir.exists()
    try:
        for end, release in (("good", releases[0]), ("bad", releases[-1])):
            if "status" not in state.ends[end]:
                row, record = prober.row(release)
                if row is None:
                    raise bisect.BisectError(f"--onnxruntime {release}: the {end} end gave no row of {args.cell} "
                                             f"({record.get('reason') or 'no such cell in ' + files + '`s files'})")
                state.ends[end] = {**row, "release": release, "verified": "run here"}
        if bisect.judge(state.ends["bad"], state.ends["good"], state.ends["good"]) == "good":
            raise bisect.BisectError(f"cell {args.cell} is {state.ends['good']['status']} with the same signature on "
                                     f"onnxruntime {releases[0]} and {releases[-1]}: nothing to bisect")
        state.save()
        log(f"bisect {args.cell} over onnxruntime: {len(releases) - 2} release(s) between {releases[0]} and "
            f"{releases[-1]}: {', '.join(releases[1:-1])}")
        found = bisect.search(releases, prober)
    finally:
        if fresh_envs and not args.keep:
            shutil.rmtree(axis.envs_dir, ignore_errors=True)
    return answer_lines(state.finish(found, time.monotonic() - started), files)


def answer_lines(state: dict[str, Any], files: str) -> list[str]:
    """The answer first: the two neighbouring onnxruntime releases with both rows, the release notes, skips, cost."""
    answer = state["answer"]
    good, bad = answer["good"], answer["bad"]
    verb = "broke" if Version(good) < Version(bad) else "fixed"
    newer = max(good, bad, key=Version)
    gap = f" ({', '.join(answer['untested'])} could not be built)" if answer["untested"] else ""
    lines = [f"{state['cell']} ({files}'s exported file): {verb} in onnxruntime {newer}, between {good} and {bad}{gap}"]
    for release in (good, bad):
        row = next((state["ends"][e] for e in ("good", "bad") if state["ends"][e].get("release") == release), None)
        row = row or (state["probes"].get(release) or {}).get("row") or {}
        error = " ".join((row.get("error") or "").split())
        # onnxruntime's messages open with a C++ signature and end with what was wrong: both ends shown
        error = error if len(error) <= 240 else f"{error[:120]} ... {error[-110:]}"
        lines.append(f"  onnxruntime {release} [{answer['outcomes'].get(release)}]: {row.get('status')}"
                     + (f": {error}" if error else ""))
    lines.append("  release notes: " + ", ".join(ortindex.NOTES.format(r) for r in sorted({good, bad}, key=Version)))
    for release, probe in state["probes"].items():
        if probe["outcome"] == "skip":
            lines.append(f"  skipped onnxruntime {release}: {probe.get('reason')}")
    cost = state.get("cost") or {}
    ran = [r for r, p in state["probes"].items() if p["outcome"] != "skip"]
    lines.append(f"  ran both ends and {len(ran)} release(s) between: {', '.join(ran) or 'none'}; wall time "
                 f"{cost.get('wall_s', '?')} s; peak disk {cost.get('peak_gb', '?')} GB of files in one environment "
                 f"(hard links to uv's cache; free space fell by at most {cost.get('peak_drop_gb', '?')} GB)"
                 + (f"; this run reused every row: {cost['rerun_s']} s" if cost.get("rerun_s") is not None else ""))
    return lines
