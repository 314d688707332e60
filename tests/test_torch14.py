"""torch-1.4.0 end to end: the lineup entry is built (about 15 s) and the seed's claims show."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def test_torch_1_4_reproduces_the_seed(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-1.4.0", "--out", str(out),
                           "--opsets", "9", "--runtimes", "ort-cpu,caffe2", "--time-budget", "0.05",
                           "--cases", "expand_minus_one|squeeze_non_one|keep_initializers"],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for path in out.glob("runs/*/torch-1.4.0.jsonl") for line in path.read_text().splitlines()]
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
    # no dynamo exporter before 2.1: skipped, with the reason
    assert by[("expand_minus_one", "default", "onnxruntime", None, "dynamo")]["status"] == "skip"
    assert all(r["verdict"] == "as-expected" for r in rows)
