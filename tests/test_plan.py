"""Selections from the command line, and the cells they plan."""
from __future__ import annotations

import pytest

from matrix.run.plan import MAX_KNOWN_OPSET, Selection, SelectionError, parse_selection, plan_cells, skip_reason
from matrix.wire import Cell

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
    assert len({c.key for c in cells}) == len(cells)
    assert not any(c.case == "broken" for c in cells)


def test_case_regex_matches_case_or_variant():
    cells = plan_cells(CATALOGUE, Selection(cases="alpha/workaround", opsets=(9,), exporters=("torchscript",),
                                            runtimes=("ort-cpu",)))
    assert [(c.case, c.variant) for c in cells] == [("alpha", "workaround")]


def test_runtimes_of_one_export_share_its_key():
    cells = plan_cells(CATALOGUE[:1], Selection(opsets=(9,), exporters=("torchscript",), runtimes=("ort-cpu", "caffe2")))
    assert cells[0].export_key == cells[1].export_key and cells[0].build_key == cells[1].build_key
    assert cells[0].key != cells[1].key


def test_lists_given_twice_are_one_axis_each():
    selection = parse_selection(None, "9,11,9", "torchscript,torchscript", "ort-cpu,ort-cpu")
    assert selection.opsets == (9, 11) and selection.exporters == ("torchscript",) and selection.runtimes == ("ort-cpu",)


CAPS = {"exporters": {"torchscript": {"torch": "1.4.0", "max_opset": 11, "parameters": []},
                      "dynamo": {"torch": "1.4.0", "api": None, "save_parameters": []}},
        "runtimes": {"ort-cpu": {"version": "1.1.0", "providers": ["CPUExecutionProvider"]},
                     "ort-cuda": {"version": "1.1.0", "providers": ["CPUExecutionProvider"], "gpu": None},
                     "caffe2": {"version": "1.4.0"},
                     "reference": {"missing": "onnx.reference needs onnx >= 1.13 (this is 1.6.0)"}}}


@pytest.mark.parametrize("cell, reason", [
    (Cell("a", "default", "torchscript", 9, "onnxruntime", "CPUExecutionProvider"), None),
    (Cell("a", "default", "torchscript", 18, "onnxruntime", "CPUExecutionProvider"), "above the TorchScript exporter's maximum (11)"),
    (Cell("a", "default", "dynamo", 18, "onnxruntime", "CPUExecutionProvider"), "has no dynamo exporter"),
    (Cell("a", "default", "torchscript", 9, "onnxruntime", "CUDAExecutionProvider"), "no CUDAExecutionProvider"),
    (Cell("a", "default", "torchscript", 9, "reference", "onnx.reference"), "needs onnx >= 1.13"),
    # a replayed file exists already: only the runtime decides
    (Cell("a", "default", "dynamo", 18, "onnxruntime", "CPUExecutionProvider", runtime_env="new"), None),
])
def test_skips_are_decided_by_the_adapters_from_the_workers_probe(cell, reason):
    got = skip_reason(cell, CAPS)
    assert (got is None) if reason is None else (reason in got)


def test_opsets_take_ranges_and_all():
    assert parse_selection(None, "9-11,18", None, None).opsets == (9, 10, 11, 18)
    every = parse_selection(None, "all", None, None).opsets
    assert every[0] == 7 and every == tuple(range(7, MAX_KNOWN_OPSET + 1))
    for bad in ("6", "12-9", "9-99", "nine"):
        with pytest.raises(SelectionError, match="is not an ONNX opset, a range"):
            parse_selection(None, bad, None, None)
