"""The case contract: what an Expect means, what a case may declare, and the errors that name the file."""
from __future__ import annotations

import math
import textwrap

import pytest

from matrix.adapters import EXPORTERS, RUNTIMES
from matrix.wire import Case, CaseError, Expect, judge
from matrix.worker.discovery import load_all

S12 = Expect("load-fail", torch="<1.6", runtime="onnxruntime", match="Incompatible", reason="S12")
FLAG = Expect("export-fail", options={"keep_initializers_as_inputs": False}, match="boom", reason="flag")
EXPECT = [S12, FLAG]


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
    assert judge(row(torch="2.0", keep_initializers_as_inputs=False, status="export-fail", error="boom"),
                 EXPECT)["verdict"] == "as-expected"
    assert judge(row(status="skip", error="no GPU"), EXPECT)["verdict"] == "as-expected"


def test_expects_from_the_catalogue_judge_like_the_objects():
    assert judge(row(status="load-fail", error="Incompatible"), [e.to_dict() for e in EXPECT]) == \
        judge(row(status="load-fail", error="Incompatible"), EXPECT)


def test_replayed_filter_tells_native_from_replayed_rows():
    expects = [Expect("run-fail", runtime="reference", replayed=False, match="x", reason="old reference")]
    native = row(runtime="reference", status="run-fail", error="x", runtime_env=None)
    replayed = row(runtime="reference", status="pass", runtime_env="torch-2.15.0")
    assert judge(native, expects)["verdict"] == "as-expected"
    assert judge(replayed, expects) == {"verdict": "as-expected", "expected_status": "pass", "expectation_reason": None}


def test_runtime_versions_are_the_runtimes_own():
    """onnx= and onnxruntime= name the environment that ran the runtime, not the one that exported."""
    expects = [Expect("run-fail", runtime="reference", onnx="<1.23", match="out of bounds", reason="old reference")]
    old = row(runtime="reference", onnx="1.16.2", runtime_onnx="1.16.2", status="run-fail", error="out of bounds")
    replayed_on_new = row(runtime="reference", onnx="1.16.2", runtime_onnx="1.23.2", runtime_env="new", status="pass")
    assert judge(old, expects)["verdict"] == "as-expected"
    assert judge(replayed_on_new, expects)["verdict"] == "as-expected"
    ort = [Expect("load-fail", onnxruntime=">=1.17", match="must be 1", reason="newer onnxruntime checks")]
    assert judge(row(runtime_onnxruntime="1.16.3", status="pass"), ort)["verdict"] == "as-expected"
    assert judge(row(runtime_onnxruntime="1.32.0", status="pass"), ort)["verdict"] == "unexpected-pass"


def test_several_statuses_for_an_outcome_that_depends_on_the_platform():
    expects = [Expect(["pass", "diverge"], match="beyond atol", reason="summation order on an ill-conditioned network")]
    assert judge(row(status="pass"), expects)["verdict"] == "as-expected"
    diverged = judge(row(status="diverge", error="max abs error 0.5: beyond atol=0.001"), expects)
    assert diverged == {"verdict": "as-expected", "expected_status": "pass|diverge",
                        "expectation_reason": "summation order on an ill-conditioned network"}
    assert judge(row(status="load-fail", error="x"), expects)["verdict"] == "regression"


def test_a_flaky_row_is_neither_a_regression_nor_a_pass():
    assert judge(row(status="flaky", error="first run: pass"), EXPECT)["verdict"] == "flaky"


@pytest.mark.parametrize("make, needle", [
    (lambda: Expect(stauts="pass"), "has no field 'stauts' (did you mean 'status'?)"),
    (lambda: Expect("load-fail", torch=">=banana", match="x", reason="r"), "Expect.torch: '>=banana' is not a version"),
    (lambda: Expect("load-fail", onnxruntime="1.16", match="x", reason="r"), "needs an operator"),
    (lambda: Expect("load-fail", reason="r"), "needs a match"),
    (lambda: Expect("load-fail", match="x"), "needs a reason"),
    (lambda: Expect("lod-fail", match="x", reason="r"), "'lod-fail' is not one of"),
    (lambda: Expect(["pass", "pass"], reason="r"), "lists 'pass' twice"),
    (lambda: Expect(["pass", "diverge"], match="x"), "needs a reason"),
    (lambda: Expect("skip", match="x", reason="r"), "is not one of"),
    (lambda: Expect("pass", options={"dynamic_axis": True}), "is not one of keep_initializers_as_inputs"),
    (lambda: Case(title="t", pitfall="p", atol=math.nan), "Case.atol must be a finite number"),
    (lambda: Case(title="t", pitfall="p", timeout=math.inf), "Case.timeout must be a finite number above 0"),
    (lambda: Case(title="t", pitfall="p", timeout=0), "Case.timeout must be a finite number above 0"),
    (lambda: Case(title="t", pitfall="p", links=["javascript:alert(1)"]), "must be http(s) URLs"),
    (lambda: Case(title="t", pitfall="p", seed=["twelve"]), "claim ids like 'S12'"),
    (lambda: Case(title="t", pitfall="p", tolerance=1), "has no field 'tolerance'"),
    (lambda: Case(title="t", pitfall="p", options={"dynamic_axes": [True, "yes"]}), "must be True or False"),
])
def test_contract_errors_say_what_is_wrong(make, needle):
    with pytest.raises(CaseError) as raised:
        make()
    assert needle in str(raised.value)


def test_option_values_given_twice_are_one_column():
    case = Case(title="t", pitfall="p", options={"dynamic_axes": [True, False, True]})
    assert case.option_grid() == [{"dynamic_axes": True}, {"dynamic_axes": False}]


NAMES = {"exporters": sorted(EXPORTERS), "runtimes": sorted({a.runtime for a in RUNTIMES.values()}),
         "providers": sorted({a.provider for a in RUNTIMES.values()})}


@pytest.mark.parametrize("body, needle", [
    ('CASE = Case(title="t", pitfall="p", expect=[Expect(stauts="pass")])', "has no field 'stauts'"),
    ('CASE = Case(title="t", pitfall="p", expect=[Expect("load-fail", torch=">=banana", match="m", reason="r")])',
     "'>=banana' is not a version specifier"),
    ('CASE = Case(title="t", pitfall="p", expect=[Expect("load-fail", reason="r")])', "needs a match"),
    ('CASE = Case(title="t", pitfall="p", expect=[Expect("pass", variant="workaroud")])',
     "variant='workaroud' is not one of default"),
    ('CASE = Case(title="t", pitfall="p", expect=[Expect("pass", runtime="onnxruntme")])',
     "runtime='onnxruntme' is not one of"),
])
def test_a_malformed_case_is_named_when_it_is_loaded(tmp_path, body, needle):
    """Loading happens in the worker; discovery itself needs no torch, so it is tested here directly."""
    folder = tmp_path / f"cases_{tmp_path.name}"  # a package name of its own: imports are cached per name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "typo.py").write_text(textwrap.dedent(f'''\
        from matrix.wire import Case, Expect
        {body}


        def build():
            return None, ()
        '''))
    (folder / "fine.py").write_text("def build():\n    return None, ()\n")
    loaded, catalogue = load_all([str(folder)], NAMES)
    by_id = {c["id"]: c for c in catalogue}
    assert by_id["fine"]["error"] is None and "fine" in loaded
    assert by_id["typo"]["error"].startswith(f"{folder.name}/typo.py: ") and needle in by_id["typo"]["error"]


def test_every_failing_expect_of_the_corpus_has_a_match():
    from conftest import REAL_CASES
    loaded, catalogue = load_all([str(REAL_CASES)], NAMES) if _torch_here() else pytest.skip("needs torch")
    assert not [c["error"] for c in catalogue if c["error"]]
    for case in loaded.values():
        for expect in case.case.expect:
            assert expect.statuses == ("pass",) or expect.match, (case.id, expect)


def _torch_here() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def test_each_runtime_declares_its_version_key():
    """onnxruntime=, onnx= and openvino= are the keys the runtime adapters declare, read from the row's
    runtime_versions, and from runtime_onnx/runtime_onnxruntime in rows written before it."""
    from matrix.adapters import version_keys
    assert {"onnxruntime", "onnx", "openvino"} <= set(version_keys())
    expects = [Expect("diverge", runtime="openvino", openvino="<2026", match="beyond", reason="an old openvino")]
    old = row(runtime="openvino", provider="CPU", runtime_versions={"openvino": "2025.3.0"}, status="diverge",
              error="max abs err 1 beyond atol")
    new = row(runtime="openvino", provider="CPU", runtime_versions={"openvino": "2026.4.1"}, status="pass")
    assert judge(old, expects)["verdict"] == "as-expected"
    assert judge(new, expects)["verdict"] == "as-expected"
    assert judge(row(runtime="openvino", status="pass"), expects)["verdict"] == "as-expected"  # no version: no match
    ort = [Expect("load-fail", onnxruntime=">=1.17", match="must be 1", reason="newer onnxruntime checks")]
    assert judge(row(runtime_versions={"onnxruntime": "1.32.0"}, status="pass"), ort)["verdict"] == "unexpected-pass"
    assert "openvino" in Expect("pass", openvino=">=2025").to_dict()
    with pytest.raises(CaseError, match="no field 'openvin'"):
        Expect("pass", openvin=">=2025")


def test_a_folders_helpers_are_read_once_and_hash_as_each_case_alone(tmp_path):
    """Discovery reads a folder's helper modules once for all its cases (once per case was quadratic in a corpus
    of thousands): every case's hash is still the one it has alone, and the host computes the same."""
    from pathlib import Path

    from matrix.results.store import current_hashes
    from matrix.wire import case_hash
    folder = tmp_path / "many_cases"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "_shared.py").write_text("SIZE = 3\n")
    for n in range(5):
        (folder / f"c{n}.py").write_text(f'"""case {n}"""\n\n\ndef build():\n    return None, ({n},)\n')
    _, catalogue = load_all([str(folder)], NAMES)
    assert {c["id"]: c["case_hash"] for c in catalogue} == {f"c{n}": case_hash(str(folder / f"c{n}.py"))
                                                            for n in range(5)} == current_hashes([Path(folder)])
    assert all(c["support_sources"] == {"__init__.py": "", "_shared.py": "SIZE = 3\n"} for c in catalogue)
    (folder / "_shared.py").write_text("SIZE = 4\n")  # a helper edited: every case's hash changes
    assert all(case_hash(str(folder / f"c{n}.py")) != c["case_hash"] for n, c in enumerate(catalogue))
