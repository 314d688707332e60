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


# the corpora's packages beside an environment, each as <field>_requires, <field>_pins and <field>_note
# (matrix/envs/models.py): transformers for cases/hf, torchvision for cases/vision
PACKAGE_FIELDS = {"model": "transformers", "vision": "torchvision"}
MINOR_TAG = "minor"  # an entry that fills the history between the anchors: no operator corpus (Entry.runs_op_corpus)


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
    # the model corpus's own packages (transformers and what it needs beyond ``pins``), installed beside the
    # environment and seen only by case folders that ask for them (matrix/envs/models.py): kept out of ``pins``,
    # so adding or moving them leaves the environment's fingerprint, and the reuse of its rows, alone
    model_requires: tuple[str, ...] = ()
    model_pins: tuple[str, ...] = ()
    model_note: str = ""  # why model_pins is empty where model_requires is not (no release supports this torch)
    # the same for the torchvision corpus (cases/vision): torchvision's one release built for this torch
    vision_requires: tuple[str, ...] = ()
    vision_pins: tuple[str, ...] = ()
    vision_note: str = ""

    def packages(self, field: str) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """(requires, pins, note) of one corpus's packages beside the environment (``field``: PACKAGE_FIELDS)."""
        return getattr(self, f"{field}_requires"), getattr(self, f"{field}_pins"), getattr(self, f"{field}_note")

    def for_gpu(self) -> "Entry":
        """This entry with its GPU runtime installed instead of onnxruntime: its own environment and id
        (``<id>-gpu``), since its onnxruntime and, where it runs, its machine differ."""
        if not self.gpu_runtime:
            raise LineupError(f"lineup entry {self.id} names no gpu_runtime")
        return self._with_onnxruntime(self.gpu_runtime, f"{self.id}-gpu", "gpu",
                                      f"{self.note} GPU variant: {self.gpu_runtime} instead of onnxruntime.".strip())

    def for_runtime(self, version: str) -> "Entry":
        """This entry with onnxruntime ``version`` instead of its own (``<id>-ort<version>``): the runtime axis,
        where one entry's exported files run on every onnxruntime release that installs beside its pins."""
        return self._with_onnxruntime(f"onnxruntime=={version}", f"{self.id}-ort{version}", "runtimes",
                                      f"{self.id}'s pins with onnxruntime {version}")

    def _with_onnxruntime(self, pin: str, env_id: str, tag: str, note: str) -> "Entry":
        swap = lambda items: tuple(pin if _normalise(_PIN.match(p).group(1)) == "onnxruntime" else p for p in items)
        return dataclasses.replace(self, id=env_id, pins=swap(self.pins), requires=swap(self.requires),
                                   tags=tuple(dict.fromkeys(self.tags + (tag,))), gpu_runtime="", note=note)

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

    @property
    def runs_op_corpus(self) -> bool:
        """Whether the operator corpus runs here: every entry but the gap fillers of the history (``minor``).
        Each op publication is ~1.8 MB of Parquet; 26 of them, with the history results/ keeps, would not fit its
        60 MB bound (tests/test_publish.py), so the minors run the pitfall and model corpora until op rows are kept
        as differences from a neighbour."""
        return MINOR_TAG not in self.tags


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
    packages = {}
    for field in PACKAGE_FIELDS:
        requires_of, pins_of = _model_fields(raw, pins, where, field)
        packages.update({f"{field}_requires": requires_of, f"{field}_pins": pins_of,
                         f"{field}_note": raw.get(f"{field}_note", "")})
    return Entry(id=env_id, python=python, pins=pins, requires=requires, tags=tuple(tags),
                 find_links=raw.get("find_links", False), note=raw.get("note", ""), gpu_runtime=gpu_runtime or "",
                 **packages)


_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?\s*([<>=!~]=?[0-9][0-9A-Za-z.*,<>=!~ ]*)?$")


def _model_fields(raw: dict, pins: tuple[str, ...], where: str,
                  field: str = "model") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """<field>_requires (requirements: ``transformers[torch]``, ``transformers<5``) and <field>_pins (their lock,
    ``name==version``, none of them a package ``pins`` already has: they install beside it, never over it)."""
    requires = raw.get(f"{field}_requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) and _REQUIREMENT.match(r.strip()) for r in requires):
        raise LineupError(f"{where}: {field}_requires must be a list of requirements like 'transformers[torch]', "
                          f"got {requires!r}")
    locked = raw.get(f"{field}_pins")
    model_pins = _pin_list(locked, f"{field}_pins", where) if locked else ()
    if model_pins and not requires:
        raise LineupError(f"{where}: {field}_pins without {field}_requires: say what they were locked from")
    own = {_normalise(_PIN.match(p).group(1)) for p in pins}
    twice = sorted(n for n in (_normalise(_PIN.match(p).group(1)) for p in model_pins) if n in own)
    if twice:
        raise LineupError(f"{where}: {field}_pins: {', '.join(twice)} already pinned in pins")
    if not isinstance(raw.get(f"{field}_note", ""), str):
        raise LineupError(f"{where}: {field}_note must be a string")
    return tuple(r.strip() for r in requires), model_pins


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
