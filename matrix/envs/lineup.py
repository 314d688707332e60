"""The lineup (``matrix/envs/lineup.toml``): which environments the matrix runs in, validated as data."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import tomllib

from matrix.paths import LINEUP_FILE

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PYTHON = re.compile(r"^3\.\d+$")
# name==version, the only form a lock admits; the version may carry a local label (+cpu)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.!+-]*)$")


class LineupError(ValueError):
    """The lineup file is malformed; the message names the file, the entry and the value."""


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    python: str
    pins: tuple[str, ...]
    requires: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    find_links: bool = False
    note: str = ""
    # the onnxruntime build with the CUDA provider that replaces ``onnxruntime`` with --gpu
    gpu_runtime: str = ""

    def for_gpu(self) -> "Entry":
        """This entry with its GPU runtime installed instead of onnxruntime: its own environment and id
        (``<id>-gpu``), since its onnxruntime and, where it runs, its machine differ."""
        if not self.gpu_runtime:
            raise LineupError(f"lineup entry {self.id} names no gpu_runtime")
        swap = lambda items: tuple(self.gpu_runtime if _normalise(_PIN.match(p).group(1)) == "onnxruntime" else p
                                   for p in items)
        return dataclasses.replace(self, id=f"{self.id}-gpu", pins=swap(self.pins), requires=swap(self.requires),
                                   tags=tuple(dict.fromkeys(self.tags + ("gpu",))), gpu_runtime="",
                                   note=f"{self.note} GPU variant: {self.gpu_runtime} instead of onnxruntime.".strip())

    def pin(self, package: str) -> str | None:
        """The pinned version of ``package``, or None."""
        for item in self.pins:
            name, version = _PIN.match(item).groups()
            if _normalise(name) == _normalise(package):
                return version
        return None

    @property
    def torch(self) -> str:
        return self.pin("torch") or "?"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_entry(raw: object, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise LineupError(f"{where}: an [[env]] entry must be a table, got {raw!r}")
    unknown = set(raw) - {f.name for f in dataclasses.fields(Entry)}
    if unknown:
        raise LineupError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    env_id = raw.get("id")
    if not isinstance(env_id, str) or not _ID.match(env_id):
        raise LineupError(f"{where}: id {env_id!r} must be a name like 'torch-1.4.0'")
    where = f"{where} ({env_id})"
    python = raw.get("python")
    if not isinstance(python, str) or not _PYTHON.match(python):
        raise LineupError(f"{where}: python {python!r} must be a version like '3.11'")
    pins = _pin_list(raw.get("pins"), "pins", where)
    requires = _pin_list(raw.get("requires", list(pins)), "requires", where)
    for name, items in (("pins", pins), ("requires", requires)):
        names = [_normalise(_PIN.match(p).group(1)) for p in items]
        if "torch" not in names:
            raise LineupError(f"{where}: {name} must include torch")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and _ID.match(t) for t in tags):
        raise LineupError(f"{where}: tags must be a list of names, got {tags!r}")
    if not isinstance(raw.get("find_links", False), bool):
        raise LineupError(f"{where}: find_links must be true or false")
    if not isinstance(raw.get("note", ""), str):
        raise LineupError(f"{where}: note must be a string")
    gpu_runtime = raw.get("gpu_runtime", "")
    if gpu_runtime:
        match = _PIN.match(gpu_runtime) if isinstance(gpu_runtime, str) else None
        if not match or not _normalise(match.group(1)).startswith("onnxruntime-"):
            raise LineupError(f"{where}: gpu_runtime {gpu_runtime!r} must be a pin like 'onnxruntime-gpu==1.31.1'")
        if not any(_normalise(_PIN.match(p).group(1)) == "onnxruntime" for p in pins):
            raise LineupError(f"{where}: gpu_runtime replaces onnxruntime, but the pins have none")
    return Entry(id=env_id, python=python, pins=pins, requires=requires, tags=tuple(tags),
                 find_links=raw.get("find_links", False), note=raw.get("note", ""), gpu_runtime=gpu_runtime or "")


def _pin_list(items: object, name: str, where: str) -> tuple[str, ...]:
    if not isinstance(items, list) or not items:
        raise LineupError(f"{where}: {name} must be a non-empty list of 'name==version'")
    for pin in items:
        if not isinstance(pin, str) or not _PIN.match(pin.strip()):
            raise LineupError(f"{where}: {name}: {pin!r} is not of the form 'name==version'")
    names = [_normalise(_PIN.match(p.strip()).group(1)) for p in items]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise LineupError(f"{where}: {name}: {', '.join(twice)} pinned more than once")
    return tuple(p.strip() for p in items)


def load_lineup(path: Path = LINEUP_FILE) -> list[Entry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LineupError(f"{path}: cannot read the lineup: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise LineupError(f"{path}: not valid TOML: {exc}") from None
    raw_entries = data.get("env")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise LineupError(f"{path}: no [[env]] entries")
    entries = [parse_entry(raw, f"{path}: env #{i + 1}") for i, raw in enumerate(raw_entries)]
    ids = [e.id for e in entries]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise LineupError(f"{path}: env id(s) {', '.join(twice)} appear more than once")
    # new releases are appended to the file, gap fillers too: every view, diff and "newest entry" reads
    # the lineup oldest torch first, so order by torch release (stable: file order among equals)
    return sorted(entries, key=lambda e: _release_key(e.torch))


def _release_key(version: str) -> tuple[int, ...]:
    parts = re.match(r"^(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in parts.group(1).split(".")) if parts else (10**9,)


def by_id(entries: list[Entry]) -> dict[str, Entry]:
    """Every entry by id, the GPU variants (``<id>-gpu``) included: rows of either name their pins."""
    found = {}
    for entry in entries:
        found[entry.id] = entry
        if entry.gpu_runtime:
            found[f"{entry.id}-gpu"] = entry.for_gpu()
    return found


def env_order(entries: list[Entry]):
    """Sort key for environment ids: lineup order (oldest torch first), a GPU variant right after its
    entry, anything else after the lineup by name."""
    rank = {}
    for i, entry in enumerate(entries):
        rank[entry.id] = 2 * i
        if entry.gpu_runtime:
            rank[f"{entry.id}-gpu"] = 2 * i + 1
    return lambda env_id: (rank.get(env_id, 2 * len(entries)), env_id)


def find_entry(entries: list[Entry], env_id: str) -> Entry:
    for entry in entries:
        if entry.id == env_id:
            return entry
        if entry.gpu_runtime and env_id == f"{entry.id}-gpu":
            return entry.for_gpu()
    known = ", ".join(e.id for e in entries)
    gpu = ", ".join(f"{e.id}-gpu" for e in entries if e.gpu_runtime)
    raise LineupError(f"no lineup entry {env_id!r}; the lineup has: {known}" + (f" (GPU variants: {gpu})" if gpu else ""))
