"""The real pipeline in this interpreter's torch, on the seed cases (TorchScript and dynamo)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_seed_cases_in_this_environment(worker_python, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "here",
                           "--out", str(out), "--opsets", "9,18", "--runtimes", "ort-cpu,reference",
                           "--cases", "expand_minus_one|squeeze_non_one|keep_initializers",
                           "--time-budget", "0.05", "--allow-regressions"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for path in out.glob("runs/*/here.jsonl") for line in path.read_text().splitlines()]
    by = {(r["case"], r["variant"], r["exporter"], r["opset_requested"], r["runtime"],
           r["keep_initializers_as_inputs"]): r for r in rows}
    assert {r["exporter"] for r in rows} == {"torchscript", "dynamo"}
    # the modern TorchScript exporter writes explicit sizes: the seed's S12 pitfall is gone
    assert by[("expand_minus_one", "default", "torchscript", 9, "onnxruntime", None)]["status"] == "pass"
    # dynamo asked for opset 9 would write 18: no row, one skipped column that says the exporter's range
    assert not [r for r in rows if r["exporter"] == "dynamo" and r["opset_requested"] == 9]
    assert all(r["opset_actual"] == 18 for r in rows if r["exporter"] == "dynamo" and r["status"] == "pass")
    skipped = [c for path in out.glob("runs/*/here.skips.json") for c in json.loads(path.read_text())["columns"]]
    assert {c["reason"].split(" writes ")[1] for c in skipped if c["exporter"] == "dynamo"} == {
        "the opset requested from 13 up, and opset 18 below it; requested 9"}
    assert by[("keep_initializers", "default", "torchscript", 9, "onnxruntime", False)]["status"] == "pass"
    # dynamo still emits Squeeze on the size-3 dim: the spec's own evaluator refuses it too
    assert by[("squeeze_non_one", "default", "dynamo", 18, "onnxruntime", None)]["status"] == "load-fail"
    assert by[("squeeze_non_one", "default", "dynamo", 18, "reference", None)]["status"] == "run-fail"
    assert by[("squeeze_non_one", "workaround", "dynamo", 18, "reference", None)]["status"] == "pass"
    for row in rows:
        assert row["status"] not in ("crash", "timeout", "build-fail", "export-fail"), row
    # where each cell's time went, per stage entered: a load failure stops at load
    passed = by[("keep_initializers", "default", "torchscript", 9, "onnxruntime", False)]["stage_s"]
    assert {"build", "export", "load", "run", "compare"} <= set(passed) and all(s >= 0 for s in passed.values())
    assert "run" not in by[("squeeze_non_one", "default", "dynamo", 18, "onnxruntime", None)]["stage_s"]
    assert (out / "index.html").exists()


def test_numbers_arguments_and_dropped_inputs_are_fed_and_compared_as_they_are(worker_python, tmp_path):
    """Python int/float arguments are fed as the 0-d inputs the file declares, an input the exporter dropped is
    named, NaNs at eager's places are equal, and dynamo's real/imaginary pairs match eager's complex output."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "here",
                           "--out", str(out), "--opsets", "18", "--runtimes", "ort-cpu", "--time-budget", "0.02",
                           "--cases-dir", str(REPO / "tests" / "signature_cases"), "--no-report"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for path in out.glob("runs/*/here.jsonl") for line in path.read_text().splitlines()]
    by = {(r["case"], r["exporter"]): r for r in rows}
    assert len(by) == 12
    for (case, exporter), row in by.items():
        if (case, exporter) != ("complex_output", "torchscript"):  # no symbolic for view_as_complex
            assert row["status"] == "pass", (case, exporter, row["error"])
    assert by[("shape_only", "torchscript")]["inputs_dropped"] == ["input_1"]  # used only for its shape
    assert by[("signature_int2", "dynamo")]["inputs_dropped"] == ["input_1"]  # dynamo bakes the int in
    assert by[("signature_int2", "torchscript")]["inputs_dropped"] is None  # fed as the 0-d int64 it declares
    assert by[("nan_output", "torchscript")]["nan_count"] == 1
