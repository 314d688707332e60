"""Verdicts: first matching Expect wins; a pass where a failure was expected is never silenced."""
from __future__ import annotations

from matrix.expectations import judge

EXPECT = [
    {"status": "load-fail", "torch": "<1.6", "runtime": "onnxruntime", "match": "Incompatible", "reason": "S12"},
    {"status": "export-fail", "options": {"keep_initializers_as_inputs": False}, "reason": "flag"},
]


def row(**fields):
    base = {"torch": "1.4.0", "runtime": "onnxruntime", "status": "pass", "error": None,
            "keep_initializers_as_inputs": None, "opset_requested": 9}
    return {**base, **fields}


def test_expected_failure_with_matching_error_is_as_expected():
    result = judge(row(status="load-fail", error="[ShapeInferenceError] Incompatible dimensions"), EXPECT)
    assert result == {"verdict": "as-expected", "expected_status": "load-fail", "expectation_reason": "S12"}


def test_right_status_for_another_reason_is_a_regression():
    assert judge(row(status="load-fail", error="something else"), EXPECT)["verdict"] == "regression"


def test_pass_where_failure_expected_is_unexpected_pass():
    assert judge(row(status="pass"), EXPECT)["verdict"] == "unexpected-pass"


def test_version_filter_and_default_pass():
    assert judge(row(torch="2.13.0+cpu", status="pass"), EXPECT)["verdict"] == "as-expected"
    assert judge(row(torch="2.13.0+cpu", status="run-fail"), EXPECT)["verdict"] == "regression"


def test_options_filter_and_skip():
    assert judge(row(torch="2.0", keep_initializers_as_inputs=False, status="export-fail"), EXPECT)["verdict"] == "as-expected"
    assert judge(row(status="skip", error="no GPU"), EXPECT)["verdict"] == "as-expected"


def test_replayed_filter_tells_native_from_replayed_rows():
    expects = [{"status": "run-fail", "runtime": "reference", "replayed": False, "reason": "old reference"}]
    native = row(runtime="reference", status="run-fail", runtime_env=None)
    replayed = row(runtime="reference", status="pass", runtime_env="torch-2.15.0")
    assert judge(native, expects)["verdict"] == "as-expected"
    assert judge(replayed, expects) == {"verdict": "as-expected", "expected_status": "pass", "expectation_reason": None}
