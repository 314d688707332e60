"""A cell is the opset of its file (matrix/views/opsets.py): rows that ran one file are one cell, counted once,
by every view and by compare."""
from __future__ import annotations

import pandas as pd

from matrix.results.read import Results
from matrix.results.rows import append_row
from matrix.results.store import RunDir
from matrix.views.compare import compare_runs, print_comparison
from matrix.views.diff import release_diff, summaries
from matrix.views.frames import current_view, shown_columns
from matrix.views.opsets import cells, env_counts, not_measured, ranges, requested_ignored
from matrix.wire import Cell, Row

ORT = ("onnxruntime", "CPUExecutionProvider")
REF = ("reference", "onnx.reference")


def row(env: str, exporter: str, opset: int, status: str = "pass", actual: int | None = None, case: str = "c",
        runtime: tuple[str, str] = ORT, sha: str | None = None, run_id: str = "r1", **fields) -> dict:
    cell = Cell(case, "default", exporter, opset, *runtime)
    return Row.for_cell(cell, {"torch": env.split("-")[-1]}, run_id=run_id, env_id=env, status=status,
                        opset_actual=actual, export_sha256=sha, finished_at=f"2026-01-0{opset % 9 + 1}T00:00:00",
                        **fields).to_dict()


def dynamo_rows(env: str = "torch-2.6.0", status: str = "pass", run_id: str = "r1") -> list[dict]:
    """What every torch from 2.1.2 to 2.15.0 wrote: dynamo asked for 9, 11 and 18 writes one opset-18 file."""
    return [row(env, "dynamo", o, status, actual=18 if status == "pass" else None, sha="f" if status == "pass" else None,
                run_id=run_id) for o in (9, 11, 18)]


def torchscript_rows(env: str = "torch-2.6.0", run_id: str = "r1") -> list[dict]:
    return [row(env, "torchscript", o, "pass", actual=o, sha=f"t{o}", run_id=run_id) for o in (9, 11, 18)]


def view_of(rows: list[dict]) -> pd.DataFrame:
    return current_view(pd.DataFrame(rows))


def test_rows_that_ran_one_file_are_one_cell_labelled_with_what_was_asked_and_written():
    found = cells(view_of(dynamo_rows() + torchscript_rows()))
    dynamo = found[found["exporter"] == "dynamo"]
    assert len(dynamo) == 1 and int(dynamo["opset"].iloc[0]) == 18 and int(dynamo["merged"].iloc[0]) == 3
    assert dynamo["opset_label"].iloc[0] == "requested 9, 11 → wrote 18"
    assert dynamo["cell_key"].iloc[0] == "c/default/dynamo/opset18/default/onnxruntime/CPUExecutionProvider"
    script = found[found["exporter"] == "torchscript"]
    assert sorted(script["opset"].astype(int)) == [9, 11, 18] and set(script["opset_label"]) == {
        "opset 9", "opset 11", "opset 18"}


def test_an_export_that_failed_has_the_opset_its_requests_files_have_elsewhere():
    """No file, no opset_actual: the opset the same request wrote for other cases in the environment."""
    rows = dynamo_rows() + [row("torch-2.6.0", "dynamo", o, "export-fail", case="d") for o in (9, 11, 18)]
    found = cells(view_of(rows))
    failed = found[found["case"] == "d"]
    assert len(failed) == 1 and int(failed["opset"].iloc[0]) == 18 and failed["status"].iloc[0] == "export-fail"


def test_one_cell_shows_its_worst_row_when_the_rows_disagree():
    rows = dynamo_rows()
    rows[0]["status"] = "diverge"
    found = cells(view_of(rows))
    assert list(found["status"]) == ["diverge"]


def test_counts_are_cells_the_environments_runtimes_ran_and_replays_beside_them():
    replay = row("torch-2.6.0", "torchscript", 9, "pass", actual=9, sha="t9")
    replay.update(runtime_env="torch-2.15.0", cell=replay["cell"] + "@torch-2.15.0")
    skipped = row("torch-2.6.0", "torchscript", 18, "skip", case="e")
    counts = env_counts(cells(view_of(dynamo_rows() + torchscript_rows() + [replay, skipped])))
    assert counts["torch-2.6.0"]["cells"] == 4  # 1 dynamo file + 3 torchscript files, the skip is no cell
    assert counts["torch-2.6.0"]["passed"] == 4 and counts["torch-2.6.0"]["with_replays"] == 5


def test_rows_of_any_shape_become_cells():
    rows = [{"env_id": "e", "cell": None, "status": None}, {"env_id": "e", "cell": "x", "status": "pass",
                                                              "opset_requested": "eleven"},
            {"env_id": None, "cell": 5, "status": "weird", "opset_actual": "18", "opset_requested": 9}]
    frame = pd.DataFrame(rows)
    for name in Row.__dataclass_fields__:
        if name not in frame:
            frame[name] = None
    found = cells(current_view(frame))
    assert len(found) == 3 and set(found["opset_label"]) == {"opset ?", "requested 9 → wrote 18"}
    assert env_counts(found)["e"]["cells"] == 2 and cells(current_view(frame.iloc[:0])).empty


def test_opsets_not_measured_are_said_as_ranges():
    assert ranges([10, 12, 13, 14, 15, 16, 17]) == "10, 12–17"
    assert not_measured([9, 11, 18]) == "opset 10, 12–17 not measured" and not_measured([11]) == ""
    found = cells(view_of(dynamo_rows()))
    assert requested_ignored(found) == ["dynamo: requested 9, 11 → wrote 18 (1 cells from 3 rows)"]


def test_a_column_is_the_files_opset_and_a_skipped_request_keeps_its_own():
    found = cells(view_of(dynamo_rows()))
    skips = pd.DataFrame([{"env_id": "torch-2.6.0", "exporter": "dynamo", "opset_requested": 9, "runtime": ORT[0],
                           "provider": ORT[1], "runtime_env": "", "reason": "the dynamo exporter writes opset 18 "
                           "and up; requested 9", "cells": 1}])
    shown, hidden = shown_columns(found, skips)
    assert list(shown["opset"]) == [18] and list(hidden["opset"]) == [9]


def test_a_release_diff_counts_files_not_requests_and_sums_per_exporter_and_runtime():
    before = dynamo_rows("torch-2.4.1") + torchscript_rows("torch-2.4.1")
    after = dynamo_rows("torch-2.6.0", "load-fail") + torchscript_rows("torch-2.6.0")
    frame = release_diff(cells(view_of(before + after)), "torch-2.4.1", "torch-2.6.0")
    assert list(frame["change"]) == ["broke"] and frame["opset_label"].iloc[0] == "requested 9, 11 → wrote 18"
    assert summaries(frame)["exporter"] == [{"name": "dynamo", "broke": 1, "fixed": 0, "fails differently": 0}]
    assert summaries(frame)["runtime"][0]["name"] == "onnxruntime CPU"
    # the command's own frame (a plain current view) is collapsed the same way
    assert len(release_diff(view_of(before + after), "torch-2.4.1", "torch-2.6.0")) == 1


def write(out, run_id, rows):
    run = RunDir(out, run_id)
    for r in rows:
        append_row(run.rows_file(r["env_id"]), {**r, "run_id": run_id}, sync=False)


def test_compare_matches_cells_by_the_files_opset_and_counts_as_the_pages_do(tmp_path, capsys):
    """A new run that skips the requests dynamo ignores (no rows for 9 and 11) is complete against a reference
    that ran them, and one broken file is one regression, not three."""
    write(tmp_path, "a", dynamo_rows() + torchscript_rows())
    write(tmp_path, "b", [r for r in dynamo_rows("torch-2.6.0", "load-fail") if r["opset_requested"] == 18]
          + torchscript_rows())
    result = compare_runs(tmp_path, "a", "b")
    assert list(result.regressions["cell"]) == ["c/default/dynamo/opset18/default/onnxruntime/CPUExecutionProvider"]
    assert result.missing == {} and result.only_base == 0
    assert result.counts["torch-2.6.0"]["cells"] == 4
    print_comparison(result)
    assert "torch-2.6.0: 4 cells this environment's runtimes ran, 3 pass" in capsys.readouterr().out
    assert env_counts(cells(current_view(Results(tmp_path).rows([Results(tmp_path).run("b")]))))[
        "torch-2.6.0"]["cells"] == 4
