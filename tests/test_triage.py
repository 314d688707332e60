"""Triage drafts the narrowest Expect covering a group of cells that are not as expected."""
from __future__ import annotations

import pandas as pd

from matrix.envs.lineup import Entry
from matrix.views.frames import current_view
from matrix.views.triage import _range, common_text, triage_view
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
