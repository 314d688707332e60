"""Supported since (matrix/views/since.py): per exporter and runtime, the first release and the lowest opset where
a row works, with the exceptions as notes; computed on tiny results folders written in tmp_path."""
from __future__ import annotations

from matrix.results.read import Results
from matrix.results.rows import append_row
from matrix.results.store import RunDir
from matrix.views.frames import current_view
from matrix.views.opsets import cells
from matrix.views.since import in_words, numbered, supported_since
from matrix.wire import Cell, Row

RELEASES = ["torch-1.4.0", "torch-1.8.1", "torch-1.10.2", "torch-2.0.1", "torch-2.6.0"]
NAMES = {r: r.replace("-", " ") for r in RELEASES}
ORT, OV = ("onnxruntime", "CPUExecutionProvider"), ("openvino", "CPU")


def results(tmp_path, outcomes: dict[tuple, str]):
    """``{(env, exporter, opset, runtime): status}`` as the rows of one run; the cells of its current view."""
    run = RunDir(tmp_path, "r1")
    for (env, exporter, opset, runtime), status in outcomes.items():
        written = 18 if exporter == "dynamo" else opset
        row = Row.for_cell(Cell("list_variable_length", "default", exporter, opset, *runtime), {"torch": env},
                           run_id="r1", env_id=env, status=status, opset_actual=written if status == "pass" else None)
        append_row(run.rows_file(env), row.to_dict(), sync=False)
    return cells(current_view(Results(tmp_path).rows()))


def since(tmp_path, outcomes):
    found = supported_since(results(tmp_path, outcomes), RELEASES, names=NAMES)
    return {(e["exporter"], e["runtime"]): e for e in found[("list_variable_length", "default")]}


def test_variable_length_lists_work_from_the_release_and_opset_they_work_in(tmp_path):
    """The answer by hand: TorchScript, opset ≥ 11, from torch 1.10.2, onnxruntime; never with dynamo."""
    outcomes = {}
    for env in RELEASES:
        for opset in (9, 11, 18):
            if opset == 18 and env in ("torch-1.4.0", "torch-1.8.1", "torch-1.10.2"):
                continue  # above the TorchScript exporter's maximum there: a skip, no row
            works = opset >= 11 and env not in ("torch-1.4.0", "torch-1.8.1")
            outcomes[(env, "torchscript", opset, ORT)] = "pass" if works else "export-fail"
    for env in ("torch-2.0.1", "torch-2.6.0"):
        for opset in (9, 11, 18):  # one file, three requests: one cell
            outcomes[(env, "dynamo", opset, ORT)] = "export-fail"
    found = since(tmp_path, outcomes)
    script = found[("torchscript", "onnxruntime CPU")]
    assert (script["kind"], script["release"], script["opset"]) == ("since", "torch-1.10.2", 11)
    assert script["text"] == "from torch 1.10.2, opset ≥ 11" and script["notes"] == []
    assert found[("dynamo", "onnxruntime CPU")]["kind"] == "never"
    words = in_words(list(found.values()), "onnxruntime CPU")
    assert words == "torchscript: from torch 1.10.2, opset ≥ 11 · never with dynamo"


def test_a_later_release_that_breaks_is_a_numbered_note_not_a_later_start(tmp_path):
    outcomes = {(env, "torchscript", 11, OV): "pass" for env in RELEASES}
    outcomes[("torch-2.0.1", "torchscript", 11, OV)] = "diverge"
    entry = since(tmp_path, outcomes)[("torchscript", "OpenVINO CPU")]
    assert entry["release"] == "torch-1.4.0" and entry["text"] == "from torch 1.4.0, opset 11"
    assert entry["notes"] == ["not in torch 2.0.1: diverge at opset 11"]
    assert numbered([entry, {"notes": ["x"]}]) == [{"n": 1, "text": entry["notes"][0]}, {"n": 2, "text": "x"}]
    assert entry["refs"] == [1]


def test_what_no_longer_works_in_the_newest_release_is_not_supported_since(tmp_path):
    outcomes = {(env, "torchscript", 9, ORT): "pass" for env in RELEASES[:3]}
    outcomes.update({(env, "torchscript", 9, ORT): "load-fail" for env in RELEASES[3:]})
    entry = since(tmp_path, outcomes)[("torchscript", "onnxruntime CPU")]
    assert entry["kind"] == "until" and entry["release"] == "torch-1.10.2"
    assert entry["text"] == "not in the newest release (last in torch 1.10.2, opset 9)"


def test_releases_that_did_not_measure_it_are_neither_a_start_nor_an_exception(tmp_path):
    outcomes = {("torch-2.0.1", "torchscript", 18, ORT): "pass", ("torch-2.6.0", "torchscript", 18, ORT): "pass",
                ("torch-2.0.1", "torchscript", 11, ORT): "run-fail", ("torch-2.6.0", "torchscript", 11, ORT): "pass"}
    entry = since(tmp_path, outcomes)[("torchscript", "onnxruntime CPU")]
    assert (entry["release"], entry["opset"], entry["notes"]) == ("torch-2.0.1", 18, [])
    assert entry["text"] == "from torch 2.0.1, opset 18"


def test_nothing_ran_is_no_entry_and_broken_rows_do_not_stop_it(tmp_path):
    assert supported_since(results(tmp_path, {}), RELEASES) == {}
    frame = results(tmp_path, {("torch-2.6.0", "torchscript", 11, ORT): "pass"})
    frame.loc[0, "status"] = None  # a row with no status is not a pass: it is no claim of support
    [entry] = supported_since(frame, RELEASES)[("list_variable_length", "default")]
    assert entry["kind"] == "never"
