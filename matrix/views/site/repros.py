"""A self-contained reproduction script for every failing cell, one file each, identical ones once.

The script is ``matrix.views.repro.build_script``'s (the case's source as that run saw it, the exporter's
and the runtime's recorded calls), stored as ``repro/<env>/<hash of its text>/repro.py`` (the name its docstring and commands use): the page
links it and shows the one line that installs the environment's pins and runs it, instead of
carrying thousands of lines of scripts itself.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.results.read import Results
from matrix.views.cells import case_entry
from matrix.views.html import write_page
from matrix.views.labels import PASS, SKIP
from matrix.views.repro import ReproError, build_script
from matrix.views.site import paths

FAILING_EXCLUDES = (PASS, SKIP)


class Repros:
    """Writes scripts into the site as cells ask for them; ``written`` counts the distinct ones."""

    def __init__(self, out: Path, results: Results, cases: dict[str, dict], entries: dict[str, Entry]) -> None:
        self.out = out
        self.results = results
        self.cases = cases
        self.entries = entries
        self.written: set[str] = set()

    def _case(self, row: dict[str, Any]) -> dict[str, Any]:
        """The case as the run that wrote the row described it (its source then), else the newest entry."""
        try:
            as_run = self.results.case_as_run(str(row.get("run_id")), str(row.get("env_id")), str(row.get("case")))
            if as_run:
                return case_entry(as_run)
        except (AttributeError, KeyError, TypeError, ValueError):  # an odd catalogue: the newest description
            pass
        return self.cases.get(row.get("case"), {})

    def for_row(self, row: dict[str, Any]) -> dict[str, str] | None:
        """{path, setup, run, note} of the row's reproduction, {problem} when there is none, None for a cell that passed."""
        if row.get("status") in FAILING_EXCLUDES:
            return None
        env_id = row.get("env_id")
        try:
            script, commands = build_script(row, self._case(row), self.entries.get(env_id),
                                            self.entries.get(row.get("runtime_env") or env_id))
        except (ReproError, KeyError, TypeError, ValueError) as exc:
            return {"problem": f"no reproduction: {exc}"}
        digest = hashlib.sha256(script.encode("utf-8", "backslashreplace")).hexdigest()[:16]
        relative = paths.repro_file(env_id, digest)
        if relative not in self.written:
            target = self.out / relative
            if not target.exists():  # named by its content: an existing file is this very script
                write_page(target, script)
            self.written.add(relative)
        # the install steps are the same for every cell of an environment (a page stores them once);
        # only the step that runs the script names it. Both are && chains: the first step that fails stops them
        steps = [line for line in commands.splitlines() if line and not line.startswith("#")]
        notes = [line.lstrip("# ") for line in commands.splitlines() if line.startswith("#")]
        return {"path": paths.href(relative),
                "setup": " && ".join(line for line in steps if "repro.py" not in line),
                "run": " && ".join(line for line in steps if "repro.py" in line),
                "note": " ".join(notes)}
