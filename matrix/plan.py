"""The cells of one environment: the catalogue's cases crossed with the selected axes."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from matrix.worker.schema import DEFAULT_OPSETS, DEFAULT_RUNTIMES, EXPORTERS, RUNTIMES, cell_id


class SelectionError(ValueError):
    """A command-line selection that cannot mean anything (exit code 2)."""


# The highest opset any released onnx defines; above it a request is a typo, not a skip.
MAX_KNOWN_OPSET = 25


@dataclasses.dataclass(frozen=True)
class Selection:
    cases: str = ".*"
    opsets: tuple[int, ...] = DEFAULT_OPSETS
    exporters: tuple[str, ...] = EXPORTERS
    runtimes: tuple[str, ...] = DEFAULT_RUNTIMES

    def to_dict(self) -> dict[str, Any]:
        return {"cases": self.cases, "opsets": list(self.opsets), "exporters": list(self.exporters),
                "runtimes": list(self.runtimes)}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_selection(cases: str | None, opsets: str | None, exporters: str | None, runtimes: str | None) -> Selection:
    """Validate the --cases/--opsets/--exporters/--runtimes values, naming the bad one."""
    selection = Selection()
    if cases is not None:
        try:
            re.compile(cases)
        except re.error as exc:
            raise SelectionError(f"--cases {cases!r} is not a regular expression: {exc}") from None
        selection = dataclasses.replace(selection, cases=cases)
    if opsets is not None:
        values = []
        for part in _split(opsets):
            if not part.isdigit() or not 7 <= int(part) <= MAX_KNOWN_OPSET:
                raise SelectionError(f"--opsets: {part!r} is not an ONNX opset (7 to {MAX_KNOWN_OPSET})")
            values.append(int(part))
        if not values:
            raise SelectionError("--opsets is empty")
        selection = dataclasses.replace(selection, opsets=tuple(values))
    if exporters is not None:
        names = _split(exporters)
        bad = [n for n in names if n not in EXPORTERS]
        if bad or not names:
            raise SelectionError(f"--exporters: unknown {', '.join(bad) or '(empty)'}; known: {', '.join(EXPORTERS)}")
        selection = dataclasses.replace(selection, exporters=tuple(names))
    if runtimes is not None:
        names = _split(runtimes)
        bad = [n for n in names if n not in RUNTIMES]
        if bad or not names:
            raise SelectionError(f"--runtimes: unknown {', '.join(bad) or '(empty)'}; known: {', '.join(RUNTIMES)}")
        selection = dataclasses.replace(selection, runtimes=tuple(names))
    return selection


def plan_cells(catalogue: list[dict[str, Any]], selection: Selection) -> list[dict[str, Any]]:
    """Every cell to run, in an order that keeps one export's runtimes together."""
    pattern = re.compile(selection.cases)
    cells = []
    for case in catalogue:
        if case.get("error"):
            continue
        for variant in case["variants"]:
            if not (pattern.search(case["id"]) or pattern.search(f"{case['id']}/{variant}")):
                continue
            for options in case["option_grid"]:
                for exporter in selection.exporters:
                    for opset in selection.opsets:
                        for name in selection.runtimes:
                            runtime, provider = RUNTIMES[name]
                            cells.append({
                                "cell": cell_id(case["id"], variant, exporter, opset, options, runtime, provider),
                                "case": case["id"], "variant": variant, "exporter": exporter, "opset": opset,
                                "options": options, "runtime": runtime, "provider": provider,
                            })
    return cells


def build_key(cell: dict[str, Any]) -> str:
    """Cells sharing this key share one build() of the case variant."""
    return f"{cell['case']}/{cell['variant']}"


def export_key(cell: dict[str, Any]) -> str:
    """Cells sharing this key share one exported file."""
    return cell["cell"].rsplit("/", 2)[0]
