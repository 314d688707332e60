"""A string table: long texts that many cells share (errors, calls, versions) stored once per page.

An environment's page carries the details of a thousand cells as JSON; most of their text
repeats (the same export call for every runtime, the same error for every opset), so each
cell points into this table instead of repeating it.

The table keeps a page under its size limit by construction: its texts share a budget of characters, and
once it is spent each new text keeps its first ``FLOOR`` characters (the whole text stays in the results
and the cell's reproduction).
"""
from __future__ import annotations

BUDGET = 800_000  # characters of text a page's table holds in full
FLOOR = 120  # what each text keeps once the budget is spent


class Strings:
    def __init__(self, budget: int = BUDGET) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}
        self.left = budget

    def __call__(self, text: object) -> int | None:
        """The index of ``text`` in the table (added on first use); None for no text."""
        if text is None or text == "":
            return None
        text = str(text)
        if text not in self._index:
            self._index[text] = len(self.items)
            keep = max(FLOOR, self.left)
            self.items.append(text if len(text) <= keep else
                              text[:keep] + f"… ({len(text) - keep} more characters in the results)")
            self.left -= min(len(text), keep)
        return self._index[text]
