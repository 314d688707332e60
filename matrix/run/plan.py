"""The cells of one environment: the catalogue's cases crossed with the selected axes, and which are skips."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from matrix.adapters import DEFAULT_EXPORTERS, DEFAULT_RUNTIMES, EXPORTERS, RUNTIMES, runtime_for
from matrix.wire import DEFAULT_OPSETS, Cell


class SelectionError(ValueError):
    """A command-line selection that cannot mean anything (exit code 2)."""


# The highest opset any released onnx defines; above it a request is a typo, not a skip.
MAX_KNOWN_OPSET = 25


@dataclasses.dataclass(frozen=True)
class Selection:
    cases: str = ".*"
    opsets: tuple[int, ...] = DEFAULT_OPSETS
    exporters: tuple[str, ...] = DEFAULT_EXPORTERS
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES
    # --opsets all: each exporter at the opsets it writes natively (its adapter's native_opsets, where it names
    # them: dynamo's torchlib is opset 18, other opsets it reaches through onnx's version converter)
    every_opset: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "opsets": list(self.opsets), "exporters": list(self.exporters),
                "runtimes": list(self.runtimes), "every_opset": self.every_opset}

    def opsets_of(self, exporter: str) -> tuple[int, ...]:
        native = getattr(EXPORTERS.get(exporter), "native_opsets", None)
        return tuple(native) if self.every_opset and native else self.opsets


def _split(text: str) -> list[str]:
    """Comma-separated names, each once, in the order given."""
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _names(flag: str, text: str, known: dict) -> tuple[str, ...]:
    names = _split(text)
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise SelectionError(f"{flag}: unknown {', '.join(bad) or '(empty)'}; known: {', '.join(known)}")
    return tuple(names)


def _opsets(part: str) -> list[int]:
    """``13``, a range ``9-13``, or ``all``: every opset an exporter may accept (those above an exporter's
    maximum are skipped columns, decided once, costing nothing)."""
    low, _, high = ("7", "", str(MAX_KNOWN_OPSET)) if part == "all" else part.partition("-")
    high = high or low
    if not (low.isdigit() and high.isdigit() and 7 <= int(low) <= int(high) <= MAX_KNOWN_OPSET):
        raise SelectionError(f"--opsets: {part!r} is not an ONNX opset, a range of them (9-13) or all "
                             f"(7 to {MAX_KNOWN_OPSET})")
    return list(range(int(low), int(high) + 1))


def compile_cases(option: str, text: str) -> re.Pattern[str]:
    """A regular expression on 'case' or 'case/variant', or the error naming the option and the value."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise SelectionError(f"{option} {text!r} is not a regular expression: {exc}") from None


def matches(pattern: re.Pattern[str], case: str, variant: str) -> bool:
    return bool(pattern.search(case) or pattern.search(f"{case}/{variant}"))


def parse_selection(cases: str | None, opsets: str | None, exporters: str | None, runtimes: str | None) -> Selection:
    """Validate the --cases/--opsets/--exporters/--runtimes values, naming the bad one."""
    selection = Selection()
    if cases is not None:
        compile_cases("--cases", cases)
        selection = dataclasses.replace(selection, cases=cases)
    if opsets is not None:
        values: list[int] = []
        for part in _split(opsets):
            values.extend(_opsets(part))
        if not values:
            raise SelectionError("--opsets is empty")
        selection = dataclasses.replace(selection, opsets=tuple(dict.fromkeys(values)),
                                        every_opset="all" in _split(opsets))
    if exporters is not None:
        selection = dataclasses.replace(selection, exporters=_names("--exporters", exporters, EXPORTERS))
    if runtimes is not None:
        selection = dataclasses.replace(selection, runtimes=_names("--runtimes", runtimes, RUNTIMES))
    return selection


def plan_cells(catalogue: list[dict[str, Any]], selection: Selection) -> list[Cell]:
    """Every cell to run, in an order that keeps one export's runtimes together."""
    pattern = re.compile(selection.cases)
    cells = []
    for case in catalogue:
        if case.get("error"):
            continue
        for variant in case["variants"]:
            if not matches(pattern, case["id"], variant):
                continue
            for options in case["option_grid"]:
                for exporter in selection.exporters:
                    for opset in selection.opsets_of(exporter):
                        for name in selection.runtimes:
                            adapter = RUNTIMES[name]
                            cells.append(Cell(case["id"], variant, exporter, opset, adapter.runtime, adapter.provider,
                                              options))
    return cells


def skip_reason(cell: Cell, caps: dict[str, Any]) -> str | None:
    """Why this cell cannot exist in the environment whose worker reported ``caps``, or None."""
    runtime = runtime_for(cell.runtime, cell.provider)
    if not cell.runtime_env:  # a replayed file exists already: only the runtime matters
        exporter = EXPORTERS[cell.exporter]
        reason = exporter.unavailable(cell.opset, caps["exporters"][exporter.name])
        if reason:
            return reason
    return runtime.unavailable(caps["runtimes"][runtime.name])


def case_folders(given: list[Path] | None) -> list[Path]:
    """The case folders a run reads (--cases-dir, default cases/), each checked to be a folder."""
    from matrix.paths import CASES_DIR
    folders = [p.resolve() for p in (given or [CASES_DIR])]
    for folder in folders:
        if not folder.is_dir():
            raise SelectionError(f"--cases-dir {folder} is not a folder")
    return folders


def environments(args: Any) -> list[str]:
    """A run command's --env ids, once each, with the options that depend on them checked."""
    envs = list(dict.fromkeys(args.env or []))
    if args.own_uv_cache and args.keep_envs is None:
        raise SelectionError("--own-uv-cache goes with --keep-envs N (environments built and removed in turn)")
    if len(envs) > 1 and args.run_id is None and args.env_id:
        raise SelectionError("--env-id names the environment of --python; it cannot go with several --env")
    return envs
