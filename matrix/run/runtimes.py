"""The runtime axis: one lineup entry's pins with each onnxruntime minor release instead of its own, built under
``.envs-runtimes/`` with uv (hard links from its cache), each replaying exported files (the entry's own published
run's and, by default, every era's) on ort-cpu. An environment goes once its rows are written (unless kept).

The record of the axis (``<out>/<entry>.runtimes.json``) lists every release considered with what happened to it:
ran (its cells, statuses, build and run seconds, the disk it really cost), or why not (no wheel for the entry's
Python, pins that cannot resolve beside it, an onnxruntime that installs but cannot run a one-node model), so no release is
dropped silently. Rows are ordinary replay rows: ``runtime_env`` is ``<entry>-ort<version>`` and
``runtime_onnxruntime`` the version that ran them.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from matrix.envs.lineup import Entry
from matrix.paths import CASES_DIR, ENVS_DIR, REPO_ROOT
from matrix.run.bisect import own_disk
from matrix.run.plan import Selection, SelectionError

ENVS_RUNTIMES = REPO_ROOT / ".envs-runtimes"
RECORD_VERSION = 1


class RuntimeAxisError(SelectionError):
    """Bad input (exit 2): the message names the value."""


def runnable(releases: list[tuple[str, str]]) -> list[str]:
    """The releases of an axis that have a wheel for the entry's Python."""
    return [release for release, why in releases if not why]


def record_path(out: Path, entry_id: str) -> Path:
    return out / f"{entry_id}.runtimes.json"


def read_record(out: Path, entry_id: str) -> dict[str, Any]:
    try:
        record = json.loads(record_path(out, entry_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and record.get("schema_version") == RECORD_VERSION else {}


def write_record(out: Path, entry_id: str, record: dict[str, Any]) -> None:
    path = record_path(out, entry_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def resolved(entry: Entry, version: str, resolve: Callable[[Entry], list[str]]) -> tuple[Entry | None, str]:
    """(the entry with onnxruntime ``version``, its pins resolved beside the entry's others; or None and uv's reason).
    The pins are resolved as they are, not the requires: the release must install beside exactly these."""
    variant = entry.for_runtime(version)
    try:
        pins = resolve(dataclasses.replace(variant, requires=variant.pins))
    except (RuntimeError, OSError, LookupError) as exc:  # uv's refusal, or no such Python here
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # uv's first "Because X depends on Y" names the clash; its last line only says that there is one
        because = [line.removeprefix("cause:").strip() for line in lines if "depends on" in line]
        return None, "does not resolve beside the entry's pins: " + ((because or lines or [str(exc)])[0])[:300]
    return dataclasses.replace(variant, pins=tuple(pins)), ""


# one Identity node run on a numpy array: a wheel built against another numpy than the pins' imports with a
# warning and then crashes or fails on the first array it is fed (onnxruntime < 1.19 beside numpy 2)
SMOKE = """
import numpy, onnx, onnxruntime
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])]),
                          opset_imports=[helper.make_opsetid("", 9)], ir_version=4)
session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
assert session.run(None, {"x": numpy.ones(2, numpy.float32)})[0].tolist() == [1.0, 1.0]
print(onnxruntime.__version__)
"""


def imports(python: Path) -> tuple[str, str]:
    """(the onnxruntime version the environment runs a one-node model with, or ""; why not)."""
    done = subprocess.run([str(python), "-c", SMOKE], capture_output=True, text=True, timeout=300)
    if done.returncode == 0:
        return done.stdout.strip().splitlines()[-1], ""
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    at = next((i for i, line in enumerate(lines) if "compiled using NumPy" in line), None)
    numpy = [" ".join(lines[at:at + 2])] if at is not None else []
    how = f"dies with signal {-done.returncode}" if done.returncode < 0 else (lines[-1][:200] if lines else f"exit {done.returncode}")
    return "", ("installs, but cannot run a one-node model: " + how + (f" ({numpy[0][:200]})" if numpy else ""))


@dataclasses.dataclass
class AxisRun:
    """What one run of the axis needs: where rows go, whose files, which cells, where environments are built."""
    out: Path
    source: Path
    files: set[str] | None
    selection: Selection
    envs_dir: Path = ENVS_RUNTIMES
    keep: bool = False
    timeout: float = 300.0
    log: Callable[[str], None] = print


def run_release(variant: Entry, axis: AxisRun, own: Entry | None = None) -> dict[str, Any]:
    """Build ``variant`` (or use ``own``, the lineup entry's built environment, when the release is its own pin), replay
    the files on it, and say what it cost; the environment goes afterwards unless kept."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins, built_entries, ensure_env, env_python
    from matrix.envs.interpreters import InterpreterNotFound
    started, free = time.monotonic(), shutil.disk_usage(axis.out if axis.out.exists() else REPO_ROOT).free
    record: dict[str, Any] = {"env_id": variant.id, "pins": list(variant.pins)}
    built = own is not None and bool(built_entries([own]))  # built here with its current pins: nothing to build
    try:
        python = env_python(ENVS_DIR / own.id) if built else ensure_env(variant, envs_dir=axis.envs_dir, log=axis.log)
        record["build_s"] = round(time.monotonic() - started, 1)
        if not built:
            total, mine = own_disk(axis.envs_dir / variant.id)
            record["disk"] = {"files_mb": round(total / 2**20), "own_mb": round(mine / 2**20),
                              "free_drop_mb": round((free - shutil.disk_usage(python.parent).free) / 2**20)}
        else:
            record["disk"] = {"note": f"ran in the lineup's own environment of {own.id}: nothing built"}
        version, reason = imports(python)
        if reason:
            return {**record, "outcome": "does-not-run", "reason": reason}
        record.update(outcome="ran", imported=version, **_replayed(variant.id, python, axis))
    except (EnvBuildError, UnresolvablePins, InterpreterNotFound) as exc:
        record.update(outcome="no-install", reason=str(exc).strip().splitlines()[-1][:300])
    finally:
        if not axis.keep and not built:
            shutil.rmtree(axis.envs_dir / variant.id, ignore_errors=True)
        record["seconds"] = round(time.monotonic() - started, 1)
    return record


def _replayed(env_id: str, python: Path, axis: AxisRun) -> dict[str, Any]:
    """The replay of the files on one runtime environment: its cells and statuses (the rows are in ``axis.out``)."""
    from matrix.run.replay import run_replay
    from matrix.run.runner import EnvRunner
    from matrix.run.worker_process import default_memory_limit_mb
    runner = EnvRunner(env_id, python, axis.out, axis.selection, [CASES_DIR], timeout_s=axis.timeout,
                       memory_limit_mb=default_memory_limit_mb(), log=axis.log)
    started = time.monotonic()
    outcomes = run_replay(runner, axis.source, axis.files)
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        for status, n in outcome.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return {"run_s": round(time.monotonic() - started, 1), "cells": sum(o.planned for o in outcomes),
            "files_of": sorted(o.env_id for o in outcomes), "statuses": dict(sorted(statuses.items()))}


def run_axis(entry: Entry, releases: list[tuple[str, str]], axis: AxisRun,
             resolve: Callable[[Entry], list[str]]) -> dict[str, Any]:
    """Every release of the axis in turn (one environment at a time on disk); the record written after each."""
    record = {"schema_version": RECORD_VERSION, "entry": entry.id, "python": entry.python,
              "onnxruntime": entry.pin("onnxruntime"), "files": sorted(axis.files) if axis.files else "every era",
              "releases": {}}
    old = read_record(axis.out, entry.id).get("releases") or {}
    for version, reason in releases:
        if reason:
            record["releases"][version] = {"outcome": "no-wheel", "reason": reason}
            continue
        variant, reason = resolved(entry, version, resolve)
        if variant is None:
            record["releases"][version] = {"outcome": "no-resolve", "reason": reason}
        elif _done(old.get(version), variant, record["files"]):
            axis.log(f"[{variant.id}] up to date: its rows are in {axis.out} ({old[version]['cells']} cells)")
            record["releases"][version] = old[version]
        else:
            own = entry if version == entry.pin("onnxruntime") else None
            record["releases"][version] = {**run_release(variant, axis, own), "files": record["files"]}
        item = record["releases"][version]
        axis.log(f"[{entry.id} + onnxruntime {version}] {item['outcome']}"
                 + (f": {item['reason']}" if item.get("reason") else f", {item.get('cells', 0)} cells {item.get('statuses')}"))
        write_record(axis.out, entry.id, record)
    return record


def _done(old: dict[str, Any] | None, variant: Entry, files: Any) -> bool:
    """Whether an earlier run replayed these files on exactly these pins (its rows are then the answer)."""
    return bool(old) and old.get("outcome") == "ran" and old.get("pins") == list(variant.pins) and old.get("files") == files
