"""Triage: the narrowest Expect covering a group of pitfall cells that are not as expected, and the op corpus's
failures grouped by error signature, each group with the narrowest filter that covers it."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from matrix.envs.lineup import Entry
from matrix.views.frames import current_view
from matrix.views.labels import error_headline, error_signature
from matrix.views.optriage import group_failures, read_op_cells, summary, with_op_axes
from matrix.views.triage import _range, common_text, op_triage_markdown, triage_view
from matrix.wire import ROW_FIELDS

LINEUP = [Entry(id=f"torch-{v}", python="3.11", pins=(f"torch=={v}",)) for v in ("1.4.0", "1.8.1", "2.0.1", "2.15.0")]


def test_ranges_admit_exactly_the_chosen_values():
    assert _range([9], [9, 11, 18]) == "==9"
    assert _range([9, 11], [9, 11, 18]) == "<=11"
    assert _range([9, 18], [9, 11, 18]) == "!=11"
    assert _range([9, 11, 18], [9, 11, 18]) is None
    envs = ["a", "b", "c", "d"]
    assert _range(["b"], envs, upper_is_next=True) == ">=b,<c"
    assert _range(["a", "b"], envs, upper_is_next=True) == "<c"
    assert _range(["c", "d"], envs, upper_is_next=True) == ">=c"


def test_the_shared_words_of_errors_not_their_numbers():
    assert common_text(["max abs error 1.9, max rel error 3e+05: beyond atol=0.0001",
                        "max abs error 0.2, max rel error 5: beyond atol=0.0001"]) == "max rel error"
    assert "Dimension of input" in common_text(["Node (Squeeze_1) [ShapeInferenceError] Dimension of input 1 must be 1"])


def rows(*records):
    base = {k: None for k in ROW_FIELDS}
    base.update(case="c", variant="default", exporter="torchscript", runtime="onnxruntime",
                provider="CPUExecutionProvider", status="pass", verdict="as-expected", run_id="r",
                finished_at="t", case_hash="h")
    return current_view(pd.DataFrame([{**base, **r} for r in records]))


def test_a_regression_in_two_releases_at_one_opset():
    view = rows(*[{"env_id": f"torch-{v}", "opset_requested": o, "cell": f"{v}/{o}",
                   **({"status": "load-fail", "verdict": "regression", "error": f"Node ({o}) Incompatible dims"}
                      if v in ("2.0.1", "2.15.0") and o == 11 else {})}
                  for v in ("1.4.0", "1.8.1", "2.0.1", "2.15.0") for o in (9, 11, 18)])
    [group] = triage_view(view, LINEUP)
    assert group["envs"] == ["torch-2.0.1", "torch-2.15.0"] and group["cells"] == 2
    assert group["draft"] == ('Expect("load-fail", variant="default", exporter="torchscript", runtime="onnxruntime", '
                              'provider="CPUExecutionProvider", opset="==11", torch=">=2.0.1", '
                              'match="Incompatible dims", reason="TODO")')


def test_an_unexpected_pass_says_which_expect_to_narrow():
    view = rows({"env_id": "torch-1.4.0", "cell": "x", "opset_requested": 9, "verdict": "unexpected-pass",
                 "expected_status": "load-fail", "expectation_reason": "S12"})
    [group] = triage_view(view, LINEUP)
    assert "remove or narrow" in group["draft"] and "S12" in group["draft"]


# --- the operator corpus: failures grouped by error signature, each with the narrowest filter --------------------

ORT = ("onnxruntime", "CPUExecutionProvider")
REF = ("reference", "")
TRILU = ("[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for Trilu(14) node with "
         "name '/Trilu_{n}'")
NO_SYMBOLIC = "Exporting the operator 'aten::{op}' to ONNX opset version {opset} is not supported"


def op_cells(records):
    """Cells as ``read_op_cells`` gives them, from (env, torch, case, exporter, runtime, opset, status, error)."""
    frame = pd.DataFrame([{"env_id": env, "torch": torch, "case": case, "exporter": exporter, "runtime": runtime[0],
                           "provider": runtime[1], "runtime_env": "", "opset": opset, "status": status,
                           "verdict": "as-expected", "error": error,
                           "cell": f"{case}/default/{exporter}/opset{opset}/default/{runtime[0]}/{runtime[1]}"}
                          for env, torch, case, exporter, runtime, opset, status, error in records])
    return with_op_axes(frame)


def trilu_corpus():
    """tril and triu in two releases: no symbolic below opset 14 (TorchScript), no int32 kernel in onnxruntime
    from 14 in the newer release only; float32 passes everywhere it exports, the reference evaluator too."""
    records = []
    for env, torch in (("torch-2.6.0", "2.6.0+cpu"), ("torch-2.13.0", "2.13.0")):
        for op in ("tril", "triu"):
            for dtype in ("float32", "int32"):
                for opset in (11, 13, 14, 17):
                    for runtime in (ORT, REF):
                        status, error = "pass", None
                        if opset < 14:
                            status, error = "export-fail", NO_SYMBOLIC.format(op=op, opset=opset)
                        elif dtype == "int32" and runtime == ORT and env == "torch-2.13.0":
                            status, error = "load-fail", TRILU.format(n=opset)
                        records.append((env, torch, f"{op}.{dtype}", "torchscript", runtime, opset, status, error))
    return op_cells(records)


def test_a_kernel_gap_is_one_group_with_the_filter_that_covers_exactly_it():
    groups = group_failures(trilu_corpus(), out=Path("results/ops"))
    [trilu] = [g for g in groups if g["status"] == "load-fail"]
    assert trilu["cells"] == 4 and trilu["ops"] == ["tril", "triu"] and trilu["dtypes"] == ["int32"]
    assert trilu["title"] == "onnxruntime has no Trilu(14) kernel for int32"
    assert trilu["filter"] == {"op": ["tril", "triu"], "dtype": "int32", "runtime": "onnxruntime",
                               "opset": ">=14", "torch": ">=2.13.0"}
    assert trilu["exact"] and trilu["others"] == 0 and trilu["admits"] == 4
    assert trilu["example"]["env_id"] == "torch-2.13.0" and trilu["example"]["opset"] == 14
    assert trilu["repro"].startswith("python -m matrix repro tril.int32/default/torchscript/opset14/") and \
        trilu["repro"].endswith("--env torch-2.13.0 --out results/ops")


def test_no_symbolic_is_a_group_per_aten_op_across_releases_dtypes_and_runtimes():
    groups = group_failures(trilu_corpus())
    exports = [g for g in groups if g["status"] == "export-fail"]
    assert [g["ops"] for g in exports] == [["tril"], ["triu"]]
    tril = exports[0]
    assert tril["cells"] == 16 and tril["envs"] == ["torch-2.13.0", "torch-2.6.0"] and tril["torch"] == ["2.6.0", "2.13.0"]
    assert tril["title"] == "Exporting the operator 'aten::tril' to ONNX opset version 11 and 13 is not supported"
    assert tril["filter"] == {"op": "tril", "opset": "<=13"} and tril["exact"]
    totals = summary(trilu_corpus(), groups, top=1)
    assert totals["failing"] == 36 and totals["groups"] == 3 and totals["top_cells"] == 16
    assert totals["envs"]["torch-2.13.0"] == {"cells": 32, "failing": 20, "groups": 3, "top10": 20}


def test_a_filter_that_cannot_be_exact_says_how_many_other_cells_it_admits():
    # onnxruntime fails at opsets 11 and 17 but passes at 13: the opset filter skips 13 ("!=13"); across dtypes
    # float32 fails at 11 only, int32 at 17 only: a product of choices admits float32 at 17 and int32 at 11 too
    records = [("e", "2.13.0", f"roll.{dtype}", "torchscript", ORT, opset,
                "run-fail" if (dtype, opset) in (("float32", 11), ("int32", 17), ("int32", 11)) else "pass",
                "Axis must be a rank-0 tensor, got `1`." if (dtype, opset) != ("int32", 11) else "index 3 out of bounds")
               for dtype in ("float32", "int32") for opset in (11, 13, 17)]
    [axis, index] = group_failures(op_cells(records))
    assert axis["cells"] == 2 and axis["filter"] == {"op": "roll", "opset": "!=13"}
    assert not axis["exact"] and axis["admits"] == 4 and axis["others"] == 2 and axis["others_pass"] == 1
    assert index["exact"] and index["filter"] == {"op": "roll", "dtype": "int32", "opset": "==11"}


def test_divergences_are_grouped_per_op_and_family_groups_span_ops():
    records = [("e", "2.13.0", f"{op}.float16", "torchscript", ORT, 17, "diverge",
                f"max abs error 0.{n}1, max rel error 0.{n}: beyond atol=0.01, rtol=0.01 (atol 0.{n}1 would pass)")
               for n, op in enumerate(("sin", "cos", "cos"))]
    records += [("e", "2.13.0", f"{op}.float32", "torchscript", REF, 11, "export-fail",
                 NO_SYMBOLIC.format(op=op, opset=11)) for op in ("sin", "cos")]
    view = op_cells(records)
    diverging = [g for g in group_failures(view) if g["status"] == "diverge"]
    assert [(g["ops"], g["cells"]) for g in diverging] == [(["cos"], 2), (["sin"], 1)]
    assert diverging[0]["title"] == "cos diverges from eager PyTorch on onnxruntime (float16)"
    families = [g for g in group_failures(view, by="family") if g["status"] == "export-fail"]
    assert len(families) == 1 and families[0]["ops"] == ["cos", "sin"] and families[0]["cells"] == 2


def test_signatures_drop_what_varies_and_keep_the_gap():
    same = [TRILU.format(n=1), TRILU.format(n=22).replace("Trilu(14)", "Trilu(14)")]
    assert error_signature(same[0]) == error_signature(same[1])
    assert "Trilu(N)" in error_signature(same[0])
    bools = ["[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from model.onnx failed:This is an invalid model. "
             f"Type Error: Type 'tensor(bool)' of input parameter ({name}) of operator (Add) in node ({node}) is invalid."
             for name, node in (("input_0", "/Add"), ("/Unsqueeze_output_0", "node_add_3"))]
    assert error_signature(bools[0]) == error_signature(bools[1])
    assert "tensor(bool)" in error_signature(bools[0]) and "(Add)" in error_signature(bools[0])
    assert error_signature(NO_SYMBOLIC.format(op="special_i0e", opset=9)) != error_signature(
        NO_SYMBOLIC.format(op="special_i1e", opset=9)), "an op's own digits name it"
    dumps = ["output 1 (1\n 0  1\n[ CPUBoolType{2,2} ]) of traced region did not have observable data dependence",
             "output 2 (-8.47 3.1\n[ torch.DoubleTensor{2} ]) of traced region did not have observable data dependence"]
    assert error_signature(dumps[0]) == error_signature(dumps[1]) and "traced region" in error_signature(dumps[0])


def test_headlines_find_the_cause_dynamo_and_the_reference_evaluator_bury():
    dynamo = ("Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to "
              "ONNX. Next steps:\n- If there is a missing ONNX function, implement it\n\n## Exception summary\n\n"
              "<class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for <OpOverload("
              "op='aten.segment_reduce', overload='default')>. Failure message: No decompositions registered for the "
              "real-valued input\n⬆️\n<class 'ConversionError'>: Error when translating node")
    assert error_headline(dynamo).startswith("DispatchError: No ONNX function found for <OpOverload(op='aten.segment")
    groups = group_failures(op_cells([("e", "2.13.0", "segment_reduce.float32", "dynamo", ORT, 18, "export-fail",
                                       dynamo)]))
    assert groups[0]["title"] == ("dynamo: no ONNX function for aten.segment_reduce (No decompositions registered "
                                  "for the real-valued input; float32)")
    reference = ("Issues with types [<class 'numpy.ndarray'>] and attributes ['axes'] (operator 'ReduceLogSumExp_1')."
                 "\ncaused by TypeError: ReduceLogSumExp does not support integer input (got int32).")
    assert error_headline(reference).startswith("TypeError: ReduceLogSumExp does not support integer input")
    torchscript = ("Unsupported: ONNX export of operator threshold, non-zero threshold. Please feel free to request "
                   "support  [Caused by the value '0 defined in (%0 : Half(requires_grad=0) = prim::Param()\n)'")
    assert error_headline(torchscript) == "Unsupported: ONNX export of operator threshold, non-zero threshold."


def test_hostile_rows_missing_or_odd_errors_unknown_statuses_and_an_empty_corpus():
    odd = [None, float("nan"), "", "\x1b[31m\x1b[0m", "x" * 100_000, "\n\n\n", "(((", "]]][[", "N" * 300]
    records = [("e", None, f"op{i}.int32", "torchscript", ORT, 9, "load-fail", error) for i, error in enumerate(odd)]
    records += [("e", "2.13.0", "weird", None, ("onnxruntime", None), None, None, "boom"),
                ("e", "not-a-version", "future.bool", "torchscript", ORT, 9, "exploded", "a status from the future"),
                ("e", "2.13.0", "fine.bool", "torchscript", ORT, 9, "pass", "an error on a passing cell")]
    view = op_cells(records)
    groups = group_failures(view)
    assert sum(g["cells"] for g in groups) == len(records) - 1, "every cell that did not pass is in one group"
    assert {g["status"] for g in groups} >= {"load-fail", "exploded", "?"}
    assert all(len(g["title"]) <= 160 and len(g["signature"]) <= 200 for g in groups)
    assert "(no error recorded)" in {g["signature"] for g in groups}
    json.dumps(groups, default=str)  # the --json output
    assert op_triage_markdown(groups, summary(view, groups, 3)).count("\n| ") == 3 + 1, "a header and --top rows"
    assert "]]][[" in op_triage_markdown(groups, summary(view, groups))
    assert group_failures(view.iloc[0:0]) == [] and summary(view.iloc[0:0], [])["groups"] == 0
    assert group_failures(view, unexpected=True) == [], "every hostile cell is as expected"


def test_an_empty_or_foreign_out_folder_is_no_groups_not_a_crash(tmp_path):
    view, problems = read_op_cells(tmp_path)
    assert view.empty and group_failures(view) == [] and problems == []
    (tmp_path / "runs" / "r").mkdir(parents=True)
    (tmp_path / "runs" / "r" / "run.json").write_text("{}")
    (tmp_path / "runs" / "r" / "e.jsonl").write_text('not json\n{"cell": 3}\n')
    view, problems = read_op_cells(tmp_path)
    assert view.empty and group_failures(view) == []


def test_the_command_groups_an_op_folder_and_writes_json_and_markdown(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    from matrix.results.rows import append_row
    from matrix.results.store import RunDir, write_json
    from matrix.wire import Row
    run = RunDir(tmp_path, "r1")
    write_json(run.path / "run.json", {"run_id": "r1"})
    cases = [{"id": f"{op}.{dtype}", "meta": {"corpus": "ops", "op": {"name": op, "dtype": dtype}}}
             for op in ("tril", "triu") for dtype in ("float32", "int32")]
    write_json(run.path / "torch-2.13.0.catalogue.json", {"cases": cases})
    for case in cases:
        for opset in (14, 17):
            fails = case["id"].endswith("int32")
            append_row(run.rows_file("torch-2.13.0"), Row(
                run_id="r1", env_id="torch-2.13.0", cell=f"{case['id']}/default/torchscript/opset{opset}/default/x/y",
                case=case["id"], variant="default", exporter="torchscript", opset_requested=opset, opset_actual=opset,
                runtime="onnxruntime", provider="CPUExecutionProvider", status="load-fail" if fails else "pass",
                verdict="as-expected", error=TRILU.format(n=opset) if fails else None, torch="2.13.0",
                finished_at="t").to_dict())
    done = subprocess.run([sys.executable, "-m", "matrix", "triage", "--out", str(tmp_path), "--json",
                           str(tmp_path / "t.json"), "--markdown", str(tmp_path / "t.md")],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "4 failing cell(s) of 8 in 1 group(s)" in done.stdout
    assert "onnxruntime has no Trilu(14) kernel for int32" in done.stdout
    assert 'filter: op=["tril", "triu"], dtype="int32"  (admits exactly the group)' in done.stdout
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["totals"]["groups"] == 1 and data["groups"][0]["exact"] is True
    assert "| 1 | 4 | load-fail | onnxruntime has no Trilu(14) kernel for int32 |" in (tmp_path / "t.md").read_text()
    misspelt = subprocess.run([sys.executable, "-m", "matrix", "triage", "--out", str(tmp_path), "--env", "torch-9"],
                              cwd=REPO, capture_output=True, text=True)
    assert misspelt.returncode == 2 and "no op cells of torch-9" in misspelt.stderr


@pytest.fixture(scope="module")
def published_2_13():
    from conftest import REPO
    out = REPO / "results" / "ops"
    view, problems = read_op_cells(out, ["torch-2.13.0"])
    return view, problems, group_failures(view, out=Path("results/ops"))


def test_the_published_torch_2_13_op_rows_group_into_known_gaps(published_2_13):
    view, problems, groups = published_2_13
    assert problems == [] and len(view) == 68_700
    by_title = {g["title"]: g for g in groups}
    shuffle = by_title["onnxruntime has no DepthToSpace(11, 13) kernel for bool, int32, int64"]
    assert shuffle["filter"] == {"op": "nn.functional.pixel_shuffle", "dtype": ["bool", "int32", "int64"],
                                 "runtime": "onnxruntime", "opset": ">=11"}
    assert shuffle["exact"] and shuffle["cells"] == 33 and shuffle["status"] == "load-fail"
    unique = by_title["onnxruntime has no Unique(11) kernel for bool, int32"]
    assert unique["filter"] == {"op": "unique", "dtype": ["bool", "int32"], "runtime": "onnxruntime", "opset": ">=11"}
    polygamma = groups[0]
    assert polygamma["title"] == "Exporting the operator 'aten::polygamma' to ONNX opset version 7-20 is not supported"
    assert polygamma["cells"] == 728 and polygamma["exact"] and polygamma["filter"]["exporter"] == "torchscript"
    totals = summary(view, groups)
    assert totals["failing"] == sum(g["cells"] for g in groups) == 37_950  # the 2.13.0 republish: 54 empty* cells now pass by shape, 7 batch_norm cells now diverge
    assert totals["groups"] < 800 and totals["exact"] > 0.9 * totals["groups"]
