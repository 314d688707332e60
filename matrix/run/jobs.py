"""What a run works through: jobs (a cell and how to ask for it), where their rows go, and the tally.

Host code: stdlib and the wire only.
"""
from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path
from typing import Any

from matrix.results.rows import iter_rows
from matrix.results.store import ResultsError, RunDir, read_json
from matrix.run.skips import Skips
from matrix.wire import Cell, Status, Verdict


@dataclasses.dataclass
class Job:
    """A cell and how to ask the worker for it (a corpus cell, or a replay of an exported file)."""

    cell: Cell
    kind: str = "cell"
    export: str | None = None
    case_hash: str | None = None  # the case source the answer must come from (None: any)
    env_id: str | None = None  # whose row it is, when not the runner's environment (a replay)

    def request(self, fresh: bool = False) -> dict[str, Any]:
        request = {"type": self.kind, "key": self.cell.key, "cell": self.cell.to_dict()}
        if self.export:
            request["export"] = self.export
        if fresh:
            request["fresh"] = True
        return request


@dataclasses.dataclass
class EnvOutcome:
    env_id: str
    run_id: str
    rows_file: Path
    planned: int = 0
    ran: int = 0
    resumed: int = 0
    reused: int = 0
    skipped: int = 0
    confirmed: int = 0
    up_to_date: bool = False
    statuses: Counter = dataclasses.field(default_factory=Counter)
    verdicts: Counter = dataclasses.field(default_factory=Counter)
    broken_cases: list[str] = dataclasses.field(default_factory=list)
    start_s: dict[str, float] = dataclasses.field(default_factory=dict)
    wall_s: float = 0.0

    def count(self, row: dict[str, Any]) -> None:
        self.statuses[row["status"]] += 1
        self.verdicts[row.get("verdict") or "?"] += 1

    def count_skips(self, cells: int) -> None:
        """Cells of columns not applicable here: skip, as expected, and no row."""
        if not cells:
            return
        self.skipped += cells
        self.statuses[Status.SKIP.value] += cells
        self.verdicts[Verdict.AS_EXPECTED.value] += cells


@dataclasses.dataclass
class Target:
    """Where one environment's rows of a run go (its own cells, or a replay of its files), and the files
    beside them; the run folder names them all."""

    run: RunDir
    env_id: str
    replay: bool = False

    @property
    def rows(self) -> Path:
        return self.run.rows_file(self.env_id, self.replay)

    @property
    def skips(self) -> Path:
        return self.run.skips_file(self.env_id, self.replay)

    @property
    def unconfirmed(self) -> Path:
        return self.run.unconfirmed_file(self.env_id, self.replay)


MEASURED_CELLS = 3  # cells timed before a pass estimates what the rest will cost


@dataclasses.dataclass
class Pass:
    """What the lanes of one pass over a target's jobs share (under the runner's lock)."""

    target: Target
    cases: dict[str, dict[str, Any]]
    outcome: EnvOutcome
    unconfirmed: dict[str, dict[str, Any]]  # cell key -> first row, waiting for its second run
    index: int  # cells answered so far (the progress count)
    total: int
    synced: float = dataclasses.field(default_factory=time.monotonic)  # when the rows last reached the disk
    cells_s: float = 0.0  # seconds the cells answered in this pass took (their rows' duration_s)
    timed: int = 0  # how many of them said

    def took(self, row: dict[str, Any]) -> None:
        seconds = row.get("duration_s")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
            self.cells_s += float(seconds)
            self.timed += 1

    def seconds_per_cell(self) -> float | None:
        """What a cell of this pass costs so far (None until a few have said)."""
        return self.cells_s / self.timed if self.timed >= MEASURED_CELLS else None


def settle(first: dict[str, Any], second: dict[str, Any], where: str) -> dict[str, Any]:
    """One row from a cell's two runs (the second in ``where``): confirmed when they agree, ``flaky`` (both
    kept) when not."""
    row = dict(first, attempts=2, retry_status=second.get("status"), retry_error=second.get("error"),
               retry_where=where)
    if second.get("status") != first.get("status"):
        row.update(status=Status.FLAKY.value,
                   error=f"first run: {first.get('status')}: {first.get('error') or '-'}\n"
                         f"second run ({where}): {second.get('status')}: {second.get('error') or '-'}")
    return row


def outcome_of(run: RunDir, env_id: str) -> EnvOutcome:
    """The outcome of a finished run, read back (what an up-to-date command reports)."""
    outcome = EnvOutcome(env_id, run.run_id, run.rows_file(env_id), up_to_date=True)
    for row in iter_rows(run.rows_file(env_id)):  # streamed: a tally needs no row held
        outcome.count(row)
    skipped = Skips(run.skips_file(env_id)).cells()
    outcome.statuses[Status.SKIP.value] += skipped
    outcome.verdicts[Verdict.AS_EXPECTED.value] += skipped
    try:
        catalogue = read_json(run.catalogue_file(env_id)) or {}
    except ResultsError:
        catalogue = {}
    outcome.broken_cases = [c["error"] for c in catalogue.get("cases", []) if isinstance(c, dict) and c.get("error")]
    outcome.planned = sum(outcome.statuses.values())
    return outcome
