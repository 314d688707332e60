"""Selections from the command line, and the cells they plan."""
from __future__ import annotations

import pytest

from matrix.plan import Selection, SelectionError, export_key, parse_selection, plan_cells

CATALOGUE = [
    {"id": "alpha", "variants": ["default", "workaround"], "option_grid": [{}]},
    {"id": "beta", "variants": ["default"], "option_grid": [{"keep_initializers_as_inputs": False},
                                                             {"keep_initializers_as_inputs": True}]},
    {"id": "broken", "file": "cases/broken.py", "error": "cases/broken.py: syntax error"},
]


@pytest.mark.parametrize("args, needle", [
    (dict(opsets="99"), "'99' is not an ONNX opset"),
    (dict(opsets="nine"), "'nine' is not an ONNX opset"),
    (dict(runtimes="ort-cpu,tensorrt"), "unknown tensorrt"),
    (dict(exporters="jit"), "unknown jit"),
    (dict(cases="("), "is not a regular expression"),
])
def test_bad_selection_names_the_value(args, needle):
    full = {**dict(cases=None, opsets=None, exporters=None, runtimes=None), **args}
    with pytest.raises(SelectionError, match=needle):
        parse_selection(**full)


def test_cells_cross_every_axis_and_skip_broken_cases():
    selection = parse_selection(None, "9,11", "torchscript,dynamo", "ort-cpu,caffe2")
    cells = plan_cells(CATALOGUE, selection)
    assert len(cells) == (2 + 2) * 2 * 2 * 2
    assert len({c["cell"] for c in cells}) == len(cells)
    assert not any(c["case"] == "broken" for c in cells)


def test_case_regex_matches_case_or_variant():
    cells = plan_cells(CATALOGUE, Selection(cases="alpha/workaround", opsets=(9,), exporters=("torchscript",),
                                            runtimes=("ort-cpu",)))
    assert [(c["case"], c["variant"]) for c in cells] == [("alpha", "workaround")]


def test_runtimes_of_one_export_share_its_key():
    cells = plan_cells(CATALOGUE[:1], Selection(opsets=(9,), exporters=("torchscript",), runtimes=("ort-cpu", "caffe2")))
    assert export_key(cells[0]) == export_key(cells[1])
    assert cells[0]["cell"] != cells[1]["cell"]
