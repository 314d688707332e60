"""``watch``: newer torch, onnxruntime, onnx and onnxscript releases than the lineup's newest entry pins, each made a
lineup entry (resolved as ``lock`` resolves), run, and diffed against the entry before it.

What is asked: the index (``matrix/envs/index.py``), for each watched package, its releases newer than the newest
entry's pin: finals only unless ``pre``; a yanked one is listed and ignored; one without a wheel for the newest
entry's Python is listed with that reason (and which lineup Pythons it has wheels for, if any).
Every torch release gets an entry; of onnxruntime, onnx and onnxscript only the newest release of each does (an older
one beside the same torch adds a step nobody bisects).

What is made, per release, oldest first, each entry built on the one before it (so each diff shows one step):

- a torch release: ``torch-<version>``, the newest entry's requires with torch bumped and its era's onnx,
  onnxruntime, onnxscript, numpy (and their companions onnx-ir and protobuf) resolved afresh, the rest held; when
  those cannot resolve, every other requirement held; when neither resolves the entry is **not written** and the
  reason is printed (a lineup entry that cannot install would break every ``nox -s matrix``): the next watch tries
  again, when the missing release may have landed.
- an onnxruntime, onnx or onnxscript release while no torch release is new: ``torch-<t>-<pkg>-<version>``, the
  newest entry's requires with that one package bumped (its companions floated only if it cannot resolve held).
  A new torch release takes its era's companions itself, so they get no entry of their own then.

The lineup file is rewritten only after an entry resolved, through a temporary file that is parsed as a lineup
before it replaces the real one: a failure leaves the lineup as it was.
"""
from __future__ import annotations

import dataclasses
import datetime
import os
import re
from pathlib import Path
from typing import Callable

from packaging.version import Version

from matrix.envs.index import Release, project_json, releases_of
from matrix.envs.lineup import MINOR_TAG, Entry, LineupError, load_lineup

WATCHED = ("torch", "onnxruntime", "onnx", "onnxscript")
ERA = ("onnx", "onnxruntime", "onnxscript", "onnx-ir", "numpy", "protobuf")  # floated with a new torch
SHORT = {"onnxruntime": "ort", "onnx": "onnx", "onnxscript": "onnxscript"}
LATEST_TAG = "latest"  # `nox -t latest`: the newest torch entry's tag, moved to a new one


@dataclasses.dataclass
class Finding:
    """A newer release of a watched package: ``reason`` says why it is ignored ("" when watch acts on it)."""
    package: str
    pinned: str
    version: str
    reason: str = ""
    action: str = ""


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return normalise(re.split(r"[=<>!~ \[;]", requirement, maxsplit=1)[0])


def _release(version: str) -> Version:
    return Version(version.split("+")[0])


def newest_entry(lineup: list[Entry]) -> Entry:
    """The entry with the newest torch (the last such in lineup order: an onnxruntime step beside it comes later)."""
    top = max(_release(e.torch) for e in lineup)
    return [e for e in lineup if _release(e.torch) == top][-1]


def _no_wheel(release: Release, python: str, pythons: list[str]) -> str:
    if release.wheel_for(python):
        return ""
    others = [p for p in pythons if p != python and release.wheel_for(p)]
    return (f"no wheel for Python {python} (the newest entry's); wheels for {', '.join(others)}" if others else
            f"no wheel for any lineup Python ({', '.join(pythons)})")


def find_newer(lineup: list[Entry], pre: bool, index: str | None, timeout: float) -> list[Finding]:
    """Every release of the watched packages newer than the newest entry's pins, oldest first per package."""
    newest = newest_entry(lineup)
    pythons = sorted({e.python for e in lineup}, key=Version)
    found = []
    for package in WATCHED:
        pinned = newest.pin(package)
        if pinned is None:
            continue  # the newest entry does without it: nothing to be newer than
        for release in releases_of(project_json(package, index, timeout), package):
            if Version(release.version) <= _release(pinned):
                continue
            reason = ("yanked" if release.yanked else "a pre-release (--pre to include)" if release.pre and not pre
                      else _no_wheel(release, newest.python, pythons))
            found.append(Finding(package, pinned, release.version, reason))
    return plan(found, newest)


def plan(found: list[Finding], newest: Entry) -> list[Finding]:
    """What watch does with each finding (its ``action``), in the order it does it."""
    torch_new = [f for f in found if f.package == "torch" and not f.reason]
    for finding in found:
        newer = [f for f in found if f.package == finding.package and not f.reason][-1:]
        if finding.reason:
            finding.action = "nothing" if finding.reason.startswith("no wheel") else "ignored"
        elif finding.package == "torch":
            finding.action = (f"add torch-{finding.version} ({newest.id}'s requires, torch {finding.version}, "
                              f"its era's {', '.join(ERA[:3])}, numpy)")
        elif torch_new:
            finding.action = f"none of its own: torch-{torch_new[-1].version} resolves its era's {finding.package}"
        elif newer and newer[0] is not finding:  # beside one torch, only the newest release of each is worth an entry
            finding.action = f"none of its own: {finding.package} {newer[0].version} is newer"
        else:
            finding.action = f"add {companion_id(newest, finding.package, finding.version)}"
    return found


def companion_id(base: Entry, package: str, version: str) -> str:
    return f"torch-{base.torch.split('+')[0]}-{SHORT[package]}-{version}"


def _bumped(base: Entry, package: str, version: str, floated: tuple[str, ...]) -> tuple[str, ...]:
    """``base``'s requires with ``package`` at ``version`` and the ``floated`` ones left to the resolver."""
    out = []
    for requirement in base.requires:
        name = _name(requirement)
        out.append(f"{package}=={version}" if name == normalise(package) else name if name in floated else requirement)
    if all(_name(r) != normalise(package) for r in base.requires):  # pinned only as another's dependency so far
        out.append(f"{package}=={version}")
    return tuple(out)


def _exact(requires: tuple[str, ...], pins: list[str]) -> tuple[str, ...]:
    """Each requirement at the version its resolution picked (a lineup's requires are name==version)."""
    picked = {_name(pin): pin for pin in pins}
    return tuple(picked.get(_name(r), r) for r in requires)


def resolved_entry(base: Entry, package: str, version: str, resolve: Callable[[Entry], list[str]],
                   lineup: list[Entry]) -> tuple[Entry | None, str]:
    """The new entry for ``package==version`` on top of ``base``, resolved (or None and why it did not resolve)."""
    torch = package == "torch"
    entry_id = f"torch-{version}" if torch else companion_id(base, package, version)
    if any(e.id == entry_id for e in lineup):
        return None, f"the lineup has an entry {entry_id} already"
    attempts = [ERA, ()] if torch else [(), tuple(n for n in ERA if n != package)]
    reasons = []
    for floated in attempts:
        loose = _bumped(base, package, version, floated)
        probe = dataclasses.replace(base, id=entry_id, requires=loose, pins=loose)
        try:
            pins = resolve(probe)
        except (RuntimeError, OSError, LookupError) as exc:  # uv's refusal, no uv, or no such Python here
            reasons.append(f"{'with ' + ', '.join(floated) + ' floated' if floated else 'the rest held'}: "
                           f"{_uv_reason(str(exc))}")
            continue
        requires = _exact(loose, pins)
        return dataclasses.replace(probe, requires=requires, pins=tuple(pins), gpu_runtime="",
                                   tags=_tags(base, torch), note=_note(base, package, version, requires, floated)), ""
    return None, f"{entry_id} cannot resolve: " + "; ".join(reasons)


def _uv_reason(text: str) -> str:
    """uv's refusal on one line: its explanation (after lock's own "cannot resolve ..." line), box drawing dropped."""
    lines = [line for line in text.splitlines() if line.strip()]
    said = " ".join(lines[1:] if len(lines) > 1 else lines)
    said = " ".join(re.sub(r"[×╰─▶│]", " ", said).split())
    return said if len(said) <= 400 else said[:399] + "…"


def _tags(base: Entry, torch: bool) -> tuple[str, ...]:
    """The base's tags, less ``minor`` (a new release is no gap filler: it runs the op corpus) and, for a companion
    entry beside the same torch, less ``latest``."""
    dropped = {MINOR_TAG} if torch else {MINOR_TAG, LATEST_TAG}
    return tuple(t for t in base.tags if t not in dropped)


def _note(base: Entry, package: str, version: str, requires: tuple[str, ...], floated: tuple[str, ...]) -> str:
    """One line for the report; only characters a TOML basic string takes as they are."""
    day = datetime.date.today().isoformat()
    era = [r for r in requires if _name(r) in floated]
    text = (f"Added by matrix watch on {day}: {base.id}'s requires with {package} {version}"
            + (f"; its era's {', '.join(era)}" if era else "; the rest held")
            + (f". gpu_runtime not carried ({base.gpu_runtime} was {base.id}'s)" if base.gpu_runtime else "") + ".")
    return re.sub(r'["\\\x00-\x1f]', "", text)


def write_lineup(path: Path, entries: list[Entry]) -> None:
    """The lineup rewritten at once: a temporary file beside it, parsed as a lineup, then renamed over it."""
    from matrix.envs.lock import render_lineup
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(render_lineup(entries), encoding="utf-8")
        load_lineup(tmp)  # what it wrote reads back as a lineup, or the real one is not touched
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def add_entry(path: Path, entry: Entry) -> list[Entry]:
    """The lineup with ``entry`` appended (and the ``latest`` tag moved to it when it carries one)."""
    lineup = load_lineup(path)
    if any(e.id == entry.id for e in lineup):
        raise LineupError(f"{path}: an entry {entry.id} exists already")
    if LATEST_TAG in entry.tags:
        lineup = [dataclasses.replace(e, tags=tuple(t for t in e.tags if t != LATEST_TAG)) for e in lineup]
    lineup.append(entry)
    write_lineup(path, lineup)
    return lineup
