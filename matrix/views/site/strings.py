"""A string table: long texts that many cells share (errors, calls, versions) stored once per page.

An environment's page carries the details of a thousand cells as JSON; most of their text
repeats (the same export call for every runtime, the same error for every opset), so each
cell points into this table instead of repeating it.
"""
from __future__ import annotations


class Strings:
    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, text: object) -> int | None:
        """The index of ``text`` in the table (added on first use); None for no text."""
        if text is None or text == "":
            return None
        text = str(text)
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]
