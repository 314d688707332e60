"""torch-1.4.0 end to end: the lineup entry is built (about 15 s) and the seed's claims show."""
from __future__ import annotations

import json

from conftest import REAL_CASES

from matrix.results.rows import read_rows
from matrix.run.plan import Selection
from matrix.run.replay import run_replay
from matrix.run.runner import EnvRunner


def test_torch_1_4_reproduces_the_seed(torch14_out):
    rows = [json.loads(line) for path in torch14_out.glob("runs/*/torch-1.4.0.jsonl")
            for line in path.read_text().splitlines()]
    by = {(r["case"], r["variant"], r["runtime"], r["keep_initializers_as_inputs"], r["exporter"]): r for r in rows}
    assert rows[0]["torch"] == "1.4.0"
    # S4: Caffe2 needs the initializers as inputs
    off = by[("keep_initializers", "default", "caffe2", False, "torchscript")]
    assert off["status"] == "load-fail" and "_Map_base::at" in off["error"]
    assert by[("keep_initializers", "default", "caffe2", True, "torchscript")]["status"] == "pass"
    # S12 and S13 on onnxruntime, and their workarounds
    expand = by[("expand_minus_one", "default", "onnxruntime", None, "torchscript")]
    assert expand["status"] == "load-fail" and "Incompatible dimensions" in expand["error"]
    assert by[("expand_minus_one", "workaround", "onnxruntime", None, "torchscript")]["status"] == "pass"
    squeeze = by[("squeeze_non_one", "default", "onnxruntime", None, "torchscript")]
    assert squeeze["status"] == "load-fail" and "must be 1" in squeeze["error"]
    assert by[("squeeze_non_one", "workaround", "onnxruntime", None, "torchscript")]["status"] == "pass"
    # no dynamo exporter before 2.1: its columns are recorded once, with the reason, and have no rows
    assert not [r for r in rows if r["exporter"] == "dynamo"]
    [skips] = torch14_out.glob("runs/*/torch-1.4.0.skips.json")
    dynamo = [c for c in json.loads(skips.read_text())["columns"] if c["exporter"] == "dynamo"]
    assert dynamo and all("has no dynamo exporter" in c["reason"] for c in dynamo)
    assert all(r["verdict"] == "as-expected" for r in rows)


def test_torch_1_4_files_fail_in_todays_runtime_too(torch14_out, worker_python):
    """The replay tells an exporter bug from a runtime bug: torch 1.4's expand(-1) file is wrong everywhere."""
    runner = EnvRunner("here", worker_python, torch14_out, Selection(runtimes=("ort-cpu", "reference")),
                       [REAL_CASES], time_budget_s=0.05)
    outcomes = run_replay(runner)
    assert [o.env_id for o in outcomes] == ["torch-1.4.0"]
    rows, problems = read_rows(outcomes[0].rows_file)
    assert problems == [] and rows
    by = {(r["case"], r["variant"], r["runtime"]): r for r in rows if r["keep_initializers_as_inputs"] is None}
    modern = by[("expand_minus_one", "default", "onnxruntime")]
    assert modern["runtime_env"] == "here" and modern["torch"] == "1.4.0"
    assert modern["runtime_version"] != "1.1.0" and modern["status"] == "load-fail"
    assert by[("expand_minus_one", "workaround", "onnxruntime")]["status"] == "pass"
    assert all(r["cell"].endswith("@here") for r in rows)


def test_torch_1_4_names_the_op_it_has_no_symbolic_for(torch14_python, tmp_path):
    """torch 1.4 says why in a warning and raises a bare KeyError('roll'): the row keeps the warning."""
    import subprocess
    import sys

    from conftest import REPO
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-1.4.0", "--out", str(tmp_path),
                           "--cases-dir", "cases/ops", "--cases", r"^roll\.float32$", "--opsets", "9",
                           "--runtimes", "ort-cpu", "--no-report"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    [rows_file] = tmp_path.glob("runs/*/torch-1.4.0.jsonl")
    [row] = [r for r in read_rows(rows_file)[0] if r["status"] == "export-fail"]
    assert row["error_type"] == "KeyError"
    assert row["error"].startswith("ONNX export failed on ATen operator roll because torch.onnx.symbolic_opset9.roll")
