"""Draft expectations name the torch range a group of cells spans, when it is contiguous."""
from __future__ import annotations

from matrix.triage import _torch_range

ORDER = [("torch-1.4.0", "1.4.0"), ("torch-1.8.1", "1.8.1"), ("torch-2.0.1", "2.0.1"), ("torch-2.15.0", "2.15.0")]


def test_contiguous_ranges():
    assert _torch_range(["torch-1.4.0", "torch-1.8.1"], ORDER) == "<2.0.1"
    assert _torch_range(["torch-2.0.1", "torch-2.15.0"], ORDER) == ">=2.0.1"
    assert _torch_range(["torch-1.8.1"], ORDER) == ">=1.8.1,<2.0.1"
    assert _torch_range([e for e, _ in ORDER], ORDER) == ""


def test_gaps_give_no_range():
    assert _torch_range(["torch-1.4.0", "torch-2.0.1"], ORDER) is None
