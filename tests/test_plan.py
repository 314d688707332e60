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


DYNAMO_CAPS = {"exporters": {**CAPS["exporters"], "dynamo": {"torch": "2.6.0", "api": "export(dynamo=True)",
                                                             "save_parameters": [], "lowest_opset": 18,
                                                             "highest_opset": 18}},
               "runtimes": CAPS["runtimes"]}
NEWER_DYNAMO = {**DYNAMO_CAPS, "exporters": {**DYNAMO_CAPS["exporters"], "dynamo": {
    **DYNAMO_CAPS["exporters"]["dynamo"], "torch": "2.13.0+cpu", "lowest_opset": 13, "highest_opset": None}}}


@pytest.mark.parametrize("caps, opset, reason", [
    (DYNAMO_CAPS, 9, "the dynamo exporter of torch 2.6.0 writes opset 18 whatever is requested; requested 9"),
    (DYNAMO_CAPS, 17, "the dynamo exporter of torch 2.6.0 writes opset 18 whatever is requested; requested 17"),
    (DYNAMO_CAPS, 20, "the dynamo exporter of torch 2.6.0 writes opset 18 whatever is requested; requested 20"),
    (DYNAMO_CAPS, 18, None),
    (NEWER_DYNAMO, 11, "the dynamo exporter of torch 2.13.0 writes the opset requested from 13 up, and opset 18 "
                       "below it; requested 11"),
    (NEWER_DYNAMO, 13, None), (NEWER_DYNAMO, 17, None), (NEWER_DYNAMO, 23, None),
])
def test_a_dynamo_request_its_exporter_ignores_is_a_skip_that_says_its_range(caps, opset, reason):
    got = skip_reason(Cell("a", "default", "dynamo", opset, "onnxruntime", "CPUExecutionProvider"), caps)
    assert got == reason


def test_the_dynamo_exporter_converts_requests_from_torch_2_9_on():
    """As measured by exporting a Linear at each request: 2.6.0 writes 18 always; 2.9.1 and 2.15.0 write 13 to 23 as
    asked and 18 for 7 to 12."""
    from matrix.adapters.exporters import Dynamo
    assert Dynamo.written_opsets("2.1.2") == Dynamo.written_opsets("2.6.0+cpu") == (18, 18)
    assert Dynamo.written_opsets("2.9.1") == Dynamo.written_opsets("2.15.0+cu130") == (13, None)


def test_an_exporter_that_reports_its_lowest_opset_is_believed():
    caps = {**DYNAMO_CAPS, "exporters": {**DYNAMO_CAPS["exporters"],
                                         "dynamo": {**DYNAMO_CAPS["exporters"]["dynamo"], "lowest_opset": 7}}}
    assert skip_reason(Cell("a", "default", "dynamo", 9, "onnxruntime", "CPUExecutionProvider"), caps) is None


def test_opsets_all_asks_each_exporter_for_what_it_writes_natively():
    selection = parse_selection(None, "all", "torchscript,dynamo", "ort-cpu")
    cells = plan_cells(CATALOGUE[:1], selection)
    by = {e: sorted({c.opset for c in cells if c.exporter == e}) for e in ("torchscript", "dynamo")}
    assert by["torchscript"] == list(range(7, MAX_KNOWN_OPSET + 1)), "the exporter's maximum decides the rest"
    assert by["dynamo"] == [18], "torchlib's own opset; the others are onnx's version converter"
    assert {c.opset for c in plan_cells(CATALOGUE[:1], parse_selection(None, "9-20", "dynamo", "ort-cpu"))} == set(
        range(9, 21)), "asked by number, an exporter gets what is asked"


def test_opsets_take_ranges_and_all():
    assert parse_selection(None, "9-11,18", None, None).opsets == (9, 10, 11, 18)
    every = parse_selection(None, "all", None, None).opsets
    assert every[0] == 7 and every == tuple(range(7, MAX_KNOWN_OPSET + 1))
    for bad in ("6", "12-9", "9-99", "nine"):
        with pytest.raises(SelectionError, match="is not an ONNX opset, a range"):
            parse_selection(None, bad, None, None)
