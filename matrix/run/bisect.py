"""``bisect CELL``: the torch releases between two lineup entries, each built on demand, searched for the one where a
cell changed, as ``git bisect run`` (an entry that cannot resolve or install is skipped, as its exit 125).

The search is a pure function over the ordered releases and an oracle, so it is tested without building anything;
the oracle here builds a temporary lineup entry (the older neighbour's requires with torch replaced, else the
newer's), runs the one cell in it with ``matrix run --python`` and judges the row by status and error signature.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from packaging.version import Version

from matrix.envs.index import IndexUnavailable, torch_releases
from matrix.envs.lineup import Entry
from matrix.views.labels import error_signature

INDEX_ENV = "MATRIX_TORCH_INDEX"  # a file in PyPI's JSON form: tests and offline runs
STATE_VERSION = 1


class BisectError(ValueError):
    """Bad input: the message names the value."""


@dataclasses.dataclass
class Search:
    """Where the search ended: the last release judged as the good end and the first judged otherwise."""
    good: str
    bad: str
    outcomes: dict[str, str]  # release -> good | bad | other | skip
    untested: list[str]  # releases between good and bad left unjudged (skipped ones around the change)


def index_releases(index_file: Path | None, pre: bool) -> list[str]:
    """torch's releases on the index, oldest first: finals only unless ``pre``, yanked ones left out."""
    source = index_file or (Path(os.environ[INDEX_ENV]) if os.environ.get(INDEX_ENV) else None)
    try:
        return torch_releases(source, pre)
    except IndexUnavailable as exc:  # the index client's own words, as this command's bad input
        raise BisectError(str(exc)) from None


def between(releases: list[str], good: str, bad: str) -> list[str]:
    """The releases strictly between ``good`` and ``bad``, ordered from the good end to the bad end (so a fix,
    good newer than bad, is searched the same way)."""
    low, high = sorted((Version(good), Version(bad)))
    inside = [r for r in releases if low < Version(r) < high]
    return inside if Version(good) < Version(bad) else inside[::-1]


def search(releases: list[str], oracle: Callable[[str], str]) -> Search:
    """Binary search over ``releases`` (good end first, bad end last, both already judged): the oracle says
    good, bad, other (neither: counted as changed, and reported) or skip (cannot be built; the search tries
    the nearest other release, as git bisect does)."""
    outcomes = {releases[0]: "good", releases[-1]: "bad"}
    low, high = 0, len(releases) - 1
    while True:
        open_ = [i for i in range(low + 1, high) if outcomes.get(releases[i]) != "skip"]
        if not open_:
            break
        middle = (low + high) // 2
        pick = min(open_, key=lambda i: (abs(i - middle), i))
        outcomes[releases[pick]] = verdict = oracle(releases[pick])
        if verdict == "good":
            low = pick
        elif verdict in ("bad", "other"):
            high = pick
    return Search(releases[low], releases[high], outcomes, releases[low + 1:high])


def judge(row: dict[str, Any] | None, good: dict[str, Any], bad: dict[str, Any]) -> str:
    """good / bad when the row has the status and error signature of that end, else other."""
    if row is None:
        return "other"
    key = lambda r: (r.get("status"), error_signature(r.get("error")) if r.get("error") else "")
    if key(row) == key(good):
        return "good"
    return "bad" if key(row) == key(bad) else "other"


def probe_entry(release: str, base: Entry, envs_id: str = "bisect") -> Entry:
    """A temporary entry: ``base``'s requires with torch replaced by ``release`` (pins resolved later)."""
    swap = lambda p: f"torch=={release}" if p.split("==")[0].strip().lower() == "torch" else p
    requires = tuple(swap(p) for p in base.requires)
    return dataclasses.replace(base, id=f"{envs_id}-torch-{release}", requires=requires, pins=requires,
                               tags=(), gpu_runtime="", note=f"bisect: {base.id}'s requires, torch {release}")


def locked(release: str, bases: list[Entry], resolve: Callable[[Entry], list[str]]) -> tuple[Entry | None, str]:
    """(the first base's probe entry whose requires resolve, or None; the reasons the others did not)."""
    reasons = []
    for base in bases:
        entry = probe_entry(release, base)
        try:
            return dataclasses.replace(entry, pins=tuple(resolve(entry))), ""
        except (RuntimeError, OSError, LookupError) as exc:  # uv's refusal, or no such Python here
            lines = [line for line in str(exc).splitlines() if line.strip()]
            reasons.append(f"with {base.id}'s requires: {lines[-1].strip()[:300] if lines else exc}")
    return None, "; ".join(reasons)


def own_disk(folder: Path) -> tuple[int, int]:
    """(bytes the files under ``folder`` take, each once; bytes of those not hard-linked elsewhere, i.e. what an
    environment really costs beside uv's cache)."""
    seen, total, own = set(), 0, 0
    for path in folder.rglob("*") if folder.exists() else ():
        try:
            stat = path.lstat()
        except OSError:
            continue
        if path.is_file() and not path.is_symlink() and (stat.st_dev, stat.st_ino) not in seen:
            seen.add((stat.st_dev, stat.st_ino))
            total += stat.st_blocks * 512
            own += stat.st_blocks * 512 if stat.st_nlink == 1 else 0
    return total, own


def disk_used(folder: Path) -> int:
    """Bytes under ``folder``, each file once (uv hard-links from its cache: those count here, not twice)."""
    return own_disk(folder)[0]


def cell_arguments(row: dict[str, Any]) -> list[str]:
    """The ``matrix run`` selection that contains ``row``'s cell (a few sibling cells run with it)."""
    from matrix.adapters import RUNTIMES
    names = [name for name, a in RUNTIMES.items() if a.runtime == row.get("runtime") and a.provider == row.get("provider")]
    if not names:
        raise BisectError(f"cell {row['cell']}: no runtime adapter for {row.get('runtime')} {row.get('provider')}")
    opset = row.get("opset_requested")
    opset = str(int(opset)) if isinstance(opset, (int, float)) and opset == opset else str(opset)
    case = f"^{row['case']}/{row['variant']}$".replace(".", r"\.")
    return ["--cases", case, "--exporters", str(row["exporter"]), "--opsets", opset, "--runtimes", names[0]]


class Bisect:
    """The search's state, kept in ``state.json`` under ``folder`` after every probe: a second run reuses it."""

    def __init__(self, folder: Path, cell: str, ends: dict[str, dict[str, Any]], selection: list[str],
                 bases: list[str]) -> None:
        self.folder, self.cell, self.ends, self.selection, self.bases = folder, cell, ends, selection, bases
        self.path = folder / "state.json"
        self.probes: dict[str, dict[str, Any]] = {}
        self.first_cost: dict[str, Any] | None = None
        self.peak_bytes = 0  # the bisect's environments, each file once
        self.peak_drop = 0  # the file system's free space lost, the uv cache's downloads included
        self.free_at_start = shutil.disk_usage(folder.parent if folder.parent.exists() else Path.cwd()).free
        try:
            old = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        same = lambda a, b: {k: v for k, v in a.items() if k != "verified"} == b
        # rows built with other requires answer another question: not reused
        if old.get("schema_version") == STATE_VERSION and old.get("cell") == cell and old.get("bases") == bases and all(
                same(old.get("ends", {}).get(e) or {}, ends[e]) for e in ends):
            self.probes = old.get("probes") or {}
            self.ends = old["ends"]
            self.first_cost = old.get("cost")  # what building cost the run that built them

    def save(self, **extra: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        state = {"schema_version": STATE_VERSION, "cell": self.cell, "ends": self.ends, "bases": self.bases,
                 "probes": self.probes, **extra}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
        tmp.replace(self.path)


    def finish(self, found: Search, seconds: float, then: Search | None = None) -> dict[str, Any]:
        """Save the answer with what it cost, and return the whole state."""
        cost = {"wall_s": round(seconds, 1), "peak_gb": round(self.peak_bytes / 1e9, 2),
                "peak_drop_gb": round(max(self.peak_drop, 0) / 1e9, 2)}
        if self.first_cost and not self.peak_bytes:  # nothing built this time: the build's cost stays the answer's
            cost = {**self.first_cost, "rerun_s": cost["wall_s"]}
        elif self.first_cost:  # built more on top of an earlier run's rows: the answer cost both
            old = self.first_cost
            cost = {"wall_s": round(old.get("wall_s", 0) + cost["wall_s"], 1),
                    **{k: max(old.get(k, 0), cost[k]) for k in ("peak_gb", "peak_drop_gb")}}
        self.save(answer={**dataclasses.asdict(found), "then": dataclasses.asdict(then) if then else None}, cost=cost)
        return json.loads(self.path.read_text(encoding="utf-8"))


def short_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    row = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}  # NaN: no value
    error = None if row.get("error") is None else str(row["error"])
    return {"env_id": row.get("env_id"), "torch": row.get("torch"), "status": row.get("status"), "error": error,
            "signature": error_signature(error) if error else "", "onnx": row.get("onnx"),
            "onnxruntime": row.get("onnxruntime"), "onnxscript": row.get("onnxscript"), "python": row.get("python")}


def run_cell(python: Path, env_id: str, cell: str, selection: list[str], out: Path, timeout: float,
             log: Callable[[str], None]) -> dict[str, Any] | None:
    """The cell's row from a ``matrix run --python`` in the built environment (None when the run wrote none)."""
    from matrix.results.read import RUN_ORDER, Results
    command = [sys.executable, "-m", "matrix", "run", "--python", str(python), "--env-id", env_id,
               *selection, "--out", str(out), "--no-report", "--jobs", "1", "--allow-regressions",
               "--timeout", str(timeout), "--no-gpu"]
    log("$ " + " ".join(command))
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if done.returncode not in (0, 1):
        log(f"[{env_id}] matrix run exited {done.returncode}: {done.stderr.strip()[-500:]}")
    rows = Results(out.resolve()).rows() if (out / "runs").is_dir() else None
    if rows is None or rows.empty:
        return None
    view = rows[(rows["cell"] == cell) & (rows["env_id"] == env_id)]
    return view.sort_values(RUN_ORDER).iloc[-1].to_dict() if not view.empty else None


def _built_entry(release: str, built: list[Entry]) -> Entry | None:
    """A lineup entry of this torch release whose environment is built already: run there, build nothing."""
    return next((e for e in built if e.torch.split("+")[0] == release), None)


def probe(release: str, bases: list[Entry], state: Bisect, envs_dir: Path, keep: bool, timeout: float,
          log: Callable[[str], None], built: list[Entry] = ()) -> str:
    """The oracle: build ``release`` (or skip it with the reason), run the cell, judge the row; reuses a row the
    state already has, and a lineup entry's built environment of the same release."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins, ensure_env
    from matrix.envs.interpreters import InterpreterNotFound
    from matrix.envs.lock import resolve
    from matrix.paths import ENVS_DIR
    known = state.probes.get(release)
    if known:
        log(f"[torch {release}] reused from {state.path}: {known['outcome']}")
        return known["outcome"]
    started = time.monotonic()
    lineup = _built_entry(release, list(built))
    entry, reason = (lineup, "") if lineup else locked(release, bases, resolve)
    record: dict[str, Any] = {"outcome": "skip", "reason": reason}
    if entry is not None:
        record.update(base=f"ran in lineup entry {lineup.id}, its own pins" if lineup
                      else f"built with {entry.note.removeprefix('bisect: ')}",
                      requires=list(entry.requires), pins=list(entry.pins))
        try:
            python = ensure_env(entry, envs_dir=ENVS_DIR if lineup else envs_dir, log=log)
            state.peak_bytes = max(state.peak_bytes, disk_used(envs_dir))
            state.peak_drop = max(state.peak_drop, state.free_at_start - shutil.disk_usage(python.parent).free)
            row = run_cell(python, entry.id, state.cell, state.selection, state.folder / "run", timeout, log)
            record.update(outcome=judge(row, state.ends["good"], state.ends["bad"]), row=short_row(row), reason="")
        except (EnvBuildError, UnresolvablePins, InterpreterNotFound) as exc:
            record["reason"] = str(exc).strip().splitlines()[-1][:300]
        finally:
            if not keep and not lineup:  # the lineup's own environments are not the bisect's to remove
                shutil.rmtree(envs_dir / entry.id, ignore_errors=True)
    record["seconds"] = round(time.monotonic() - started, 1)
    state.probes[release] = record
    state.save()
    log(f"[torch {release}] {record['outcome']}" + (f": {record['reason']}" if record.get("reason") else ""))
    return record["outcome"]


def verify_ends(state: Bisect, neighbours: set[str], built: list[Entry], timeout: float,
                log: Callable[[str], None]) -> None:
    """Run the cell again in a lineup end that is one of the two neighbours (its environment built already, so
    nothing is built): the answer then rests on two rows run here, not on a published one alone."""
    from matrix.envs.build import env_python
    from matrix.paths import ENVS_DIR
    for end in ("good", "bad"):
        row = state.ends[end]
        entry = next((e for e in built if e.id == row["env_id"]), None)
        if row["release"] not in neighbours or entry is None or row.get("verified"):
            continue
        again = run_cell(env_python(ENVS_DIR / entry.id), entry.id, state.cell, state.selection,
                         state.folder / "run", timeout, log)
        row["verified"] = judge(again, state.ends["good"], state.ends["bad"])
        log(f"[{entry.id}] run again here: {row['verified']} (the published row is {end})")


def follow_other(state: Bisect, found: Search, releases: list[str], ask: Callable[[str], str]) -> Search | None:
    """When the search stopped at an "other" neighbour, where that outcome began: the same search from it to the
    bad end, judged against its row (so a change in two steps, bad -> other -> good, is placed twice)."""
    if found.outcomes.get(found.bad) != "other":
        return None
    other = (state.probes.get(found.bad) or {}).get("row") or {}

    def again(release: str) -> str:
        if ask(release) == "skip":  # builds it, or reuses its row
            return "skip"
        return judge((state.probes.get(release) or {}).get("row"), other, state.ends["bad"])
    return search(releases[releases.index(found.bad):], again)
