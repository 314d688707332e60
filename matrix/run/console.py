"""What a run shows while it works: a live display in a terminal, plain lines elsewhere.

In a terminal (and without ``--verbose``), one progress bar per environment: cells done of
total, counts by status, elapsed and remaining time; every failure and every cell that is not
as expected is printed above the bars as it happens, and a summary table closes the run.
Elsewhere (CI logs, pipes) or with ``--verbose``: one line per cell that ran, the same notes
and the same table. Cells that cannot exist in an environment never get a line of their own.
Thread-safe: environments running at once report here from their threads.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import Any, TextIO

from rich.console import Console as RichConsole
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from matrix.wire import Cell, Status, Verdict

STYLE = {"pass": "green", "diverge": "yellow", "batch-fail": "dark_orange", "export-fail": "red", "load-fail": "red",
         "run-fail": "red", "build-fail": "magenta", "crash": "bold red", "timeout": "bold red", "flaky": "cyan",
         "skip": "dim"}
ORDER = [s.value for s in Status]


def describe_cell(cell: Cell) -> str:
    provider = cell.provider.replace("ExecutionProvider", "")
    where = f"@{cell.runtime_env}" if cell.runtime_env else ""
    return f"{cell.case}/{cell.variant} {cell.exporter} opset{cell.opset} {cell.runtime}/{provider}{where}"


def _counts(counter: Counter) -> str:
    return " ".join(f"{status} {counter[status]}" for status in ORDER if counter.get(status))


class Console:
    """Plain lines: one per cell that ran, notes, and the summary table."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.lock = threading.Lock()
        self.outcomes: list[Any] = []
        self.started = time.monotonic()

    def note(self, message: str) -> None:
        with self.lock:
            print(message, file=self.stream, flush=True)

    def cell(self, env_id: str, index: int, total: int, cell: Cell, row: dict[str, Any]) -> None:
        tail = row.get("status", "?")
        if row.get("verdict") and row["verdict"] != Verdict.AS_EXPECTED.value:
            tail += f" ({row['verdict']})"
        width = len(str(total))
        with self.lock:
            print(f"[{env_id} {index:>{width}}/{total}] {describe_cell(cell):<64} {tail} "
                  f"{row.get('duration_s') or 0:.1f}s", file=self.stream, flush=True)

    def end(self, outcome: Any) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def close(self) -> None:
        if self.outcomes:
            # piped (CI logs, tee): as wide as the table needs, never cut to rich's default of 80 columns
            terminal = hasattr(self.stream, "isatty") and self.stream.isatty()
            width = max(120, RichConsole(file=self.stream).width) if terminal else 240
            RichConsole(file=self.stream, highlight=False, width=width).print(summary_table(self.outcomes))

    def __enter__(self) -> "Console":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LiveConsole(Console):
    """A progress bar per environment, failures printed as they happen."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        super().__init__(stream)
        self.rich = RichConsole(file=stream, highlight=False)
        self.progress = Progress(TextColumn("[bold]{task.fields[env]:<14}"), BarColumn(bar_width=28),
                                 MofNCompleteColumn(), TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
                                 TextColumn("left"), TimeRemainingColumn(), console=self.rich, transient=False)
        self.tasks: dict[str, Any] = {}
        self.counts: dict[str, Counter] = {}
        self.progress.start()

    def note(self, message: str) -> None:
        self.progress.console.print(Text(message, style="dim"))

    def cell(self, env_id: str, index: int, total: int, cell: Cell, row: dict[str, Any]) -> None:
        with self.lock:
            if env_id not in self.tasks:
                self.counts[env_id] = Counter()
                self.tasks[env_id] = self.progress.add_task(env_id, total=total, env=env_id, counts="")
            counts = self.counts[env_id]
            counts[row.get("status", "?")] += 1
            self.progress.update(self.tasks[env_id], completed=index, total=total, counts=_counts(counts))
        status, verdict = row.get("status"), row.get("verdict")
        unexpected = verdict and verdict != Verdict.AS_EXPECTED.value
        if status != Status.PASS.value or unexpected:
            label = Text(f"[{env_id}] ", style="bold")
            label.append(describe_cell(cell) + " ")
            label.append(status or "?", style=STYLE.get(status or "", ""))
            if unexpected:
                label.append(f" {verdict.upper()}", style="bold red reverse")
            error = (row.get("error") or "").strip().splitlines()
            if error and unexpected:
                label.append("  " + error[0][:160], style="dim")
            self.progress.console.print(label)

    def close(self) -> None:
        self.progress.stop()
        if self.outcomes:
            self.rich.print(summary_table(self.outcomes))


def applicable(outcome: Any) -> Counter:
    """The cells by status that apply here: the columns not applicable (recorded once, no row) left out."""
    statuses = Counter(outcome.statuses)
    statuses[Status.SKIP.value] -= outcome.skipped
    return +statuses  # drops the zeros


def summary_table(outcomes: list[Any]) -> Table:
    """One line per environment: cells by status, verdicts that need a look, and the time it took."""
    table = Table(title="the matrix, this run", title_justify="left")
    table.add_column("environment", no_wrap=True, min_width=14)
    table.add_column("cells", justify="right")
    counted = {o.env_id: applicable(o) for o in outcomes}
    seen = [s for s in ORDER if any(c.get(s) for c in counted.values())]
    for status in seen:
        table.add_column(status, justify="right", style=STYLE.get(status, ""))
    table.add_column("not applicable", justify="right", style="dim")
    table.add_column("not as expected", justify="right")
    table.add_column("run", no_wrap=True)
    table.add_column("wall", justify="right")
    for outcome in outcomes:
        statuses = counted[outcome.env_id]
        bad = sum(outcome.verdicts.get(v.value, 0) for v in Verdict if v is not Verdict.AS_EXPECTED)
        how = "up to date" if outcome.up_to_date else (f"{outcome.ran} ran, {outcome.reused} reused"
                                                       + (f", {outcome.resumed} resumed" if outcome.resumed else ""))
        table.add_row(outcome.env_id, str(sum(statuses.values())), *[str(statuses.get(s, 0)) for s in seen],
                      str(outcome.skipped), Text(str(bad), style="bold red" if bad else "green"), how,
                      f"{outcome.wall_s:.1f} s")
    return table


def make_console(verbose: bool, stream: TextIO = sys.stderr) -> Console:
    """The live display in a terminal; plain lines when the output is not one, or with --verbose."""
    if not verbose and stream.isatty():
        return LiveConsole(stream)
    return Console(stream)


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def outcome_status(outcome, allow_regressions: bool = False) -> int:
    """One environment's summary line; 1 for a broken case or a regression (unless allowed)."""
    counted = applicable(outcome)
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(counted.items()))
    judged = Counter(outcome.verdicts)
    judged[Verdict.AS_EXPECTED.value] -= outcome.skipped
    verdicts = ", ".join(f"{n} {v}" for v, n in sorted((+judged).items()))
    how = "up to date" if outcome.up_to_date else (f"{outcome.ran} run now, {outcome.reused} reused, "
                                                   f"{outcome.resumed} resumed")
    apart = f" (and {outcome.skipped} not applicable here: skipped columns, no rows)" if outcome.skipped else ""
    _eprint(f"[{outcome.env_id}] run {outcome.run_id}: {sum(counted.values())} cells ({how}) in "
            f"{outcome.wall_s:.1f} s: {statuses}; {verdicts}{apart}")
    if outcome.verdicts.get("flaky"):
        _eprint(f"[{outcome.env_id}] {outcome.verdicts['flaky']} flaky cell(s): two runs disagreed "
                      f"(not counted as regressions)")
    status = 1 if outcome.broken_cases else 0
    if outcome.verdicts.get("regression") and not allow_regressions:
        _eprint(f"[{outcome.env_id}] {outcome.verdicts['regression']} regression(s); --allow-regressions to exit 0")
        status = 1
    return status
