"""Node placement from onnxruntime's profiler (where a release writes no placement log), read on the CPU provider
(the GPU uses the same parser)."""
from __future__ import annotations

import numpy
import pytest

from matrix.adapters.runtimes import node_share

EVENTS = [
    {"cat": "Session", "name": "model_run"},
    {"cat": "Node", "name": "Conv_0_kernel_time", "args": {"provider": "CUDAExecutionProvider", "op_name": "Conv"}},
    {"cat": "Node", "name": "Shape_1_kernel_time", "args": {"provider": "CPUExecutionProvider", "op_name": "Shape"}},
    {"cat": "Node", "name": "Conv_0_kernel_time", "args": {"provider": "CUDAExecutionProvider", "op_name": "Conv"}},
    {"cat": "Node", "name": "Conv_0_fence_before", "args": {"provider": "CUDAExecutionProvider"}},
    {"cat": "Node", "name": "Memcpy_token_2_kernel_time", "args": {"provider": "CUDAExecutionProvider",
                                                                   "op_name": "MemcpyFromHost"}},
]


def test_share_counts_each_node_once_and_no_device_copy():
    assert node_share(EVENTS, "CUDAExecutionProvider") == 0.5
    assert node_share(EVENTS[:1], "CUDAExecutionProvider") is None  # old releases name no provider


def test_profile_of_a_real_cpu_session(worker_python, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from matrix.adapters import RUNTIMES
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    (tmp_path / "profiles").mkdir()
    share = RUNTIMES["ort-cpu"]._profiled_share(str(path), [numpy.array([1.0, -1.0], numpy.float32)],
                                                str(tmp_path / "profiles"))
    assert share == 1.0
    assert not list((tmp_path / "profiles").iterdir()), "the profile file is removed after reading"


# -- OpenVINO (the `openvino` package's ONNX frontend on its CPU device) ----------------------------------


def test_openvino_is_registered_with_its_label_and_version_key():
    """What the host views ask of the registry, without torch or openvino imported."""
    from matrix.adapters import DEFAULT_RUNTIMES, RUNTIMES, is_device, runtime_label, runtime_short, version_keys
    adapter = RUNTIMES["ov-cpu"]
    assert (adapter.runtime, adapter.provider) == ("openvino", "CPU") and "ov-cpu" in DEFAULT_RUNTIMES
    assert runtime_label("openvino", "CPU") == "OpenVINO CPU" and runtime_short("openvino", "CPU") == "OV CPU"
    assert runtime_label("onnxruntime", "CUDAExecutionProvider") == "onnxruntime CUDA"
    assert runtime_label("gone", "X") == "gone X"  # rows of a runtime this harness no longer has
    assert "openvino" in version_keys() and not is_device("openvino", "CPU")
    assert is_device("onnxruntime", "CUDAExecutionProvider")


def test_openvino_missing_is_a_skip_with_its_reason(worker_python):
    """A real interpreter where `import openvino` fails: the probe says so, and the cells are skip."""
    import json
    import subprocess
    import sys

    from matrix.adapters import RUNTIMES
    probe = ("import sys, json; sys.modules['openvino'] = None\n"  # None in sys.modules: import raises ImportError
             "from matrix.adapters import RUNTIMES; print(json.dumps(RUNTIMES['ov-cpu'].probe()))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    caps = json.loads(done.stdout)
    assert RUNTIMES["ov-cpu"].unavailable(caps) == "openvino is not installed in this environment"


def _two_input_model(path):
    """y = a + b (a: [n, 2]), z = -c (c: [3]): two inputs of different shapes, so an order mix-up shows."""
    from onnx import TensorProto, helper, save
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"]), helper.make_node("Neg", ["c"], ["z"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 2]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 2]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [3]),
         helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 2])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def test_openvino_runs_the_recorded_code_in_input_and_output_order(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("openvino")
    from matrix.adapters import RUNTIMES
    from matrix.worker.pipeline import compiled
    adapter = RUNTIMES["ov-cpu"]
    caps = adapter.probe()
    assert adapter.unavailable(caps) is None and caps["version"][0].isdigit()
    code = compiled(adapter.source(caps), "<ov-cpu runtime>")
    path = tmp_path / "m.onnx"
    _two_input_model(path)
    session = code["load_model"](str(path))
    # f32 whatever the CPU: AMX machines default to bf16, which would make verdicts depend on the machine
    assert str(session[0].get_property("INFERENCE_PRECISION_HINT")) in ("<Type: 'float32'>", "f32")
    a = numpy.arange(4, dtype=numpy.float32).reshape(2, 2)
    c = numpy.array([1.0, 2.0, 3.0], numpy.float32)
    first = code["run_model"](session, [a, a * 10, c])
    assert all(isinstance(x, numpy.ndarray) for x in first)
    numpy.testing.assert_array_equal(first[0], -c)  # outputs in the graph's order: z, then y
    numpy.testing.assert_array_equal(first[1], a * 11)
    again = code["run_model"](session, [a[:1], a[:1], c * 0])  # a second batch size on a dynamic input
    assert again[1].shape == (1, 2)
    numpy.testing.assert_array_equal(first[0], -c)  # copied out: the next inference did not overwrite it
    with pytest.raises(RuntimeError, match="the model takes 3 inputs"):
        code["run_model"](session, [a, a])


@pytest.mark.slow
def test_openvino_cells_of_real_exports(worker_python, tmp_path):
    """Real exports through the harness on ov-cpu beside ort-cpu: initializers as inputs, several inputs, a
    second batch size; every cell as its case expects, and the rows carry openvino's version key."""
    import json
    import subprocess
    import sys
    pytest.importorskip("openvino")
    from conftest import REPO
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "here",
                           "--out", str(out), "--opsets", "11", "--runtimes", "ov-cpu,ort-cpu", "--no-report",
                           "--cases", "keep_initializers|batch_dynamic_axes|list_input|dict_io",
                           "--time-budget", "0.02"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = [json.loads(line) for path in out.glob("runs/*/here.jsonl") for line in path.read_text().splitlines()]
    ov = [r for r in rows if r["runtime"] == "openvino"]
    assert ov and len(ov) == len(rows) - len(ov)
    assert {r["verdict"] for r in rows} == {"as-expected"}
    assert all(r["runtime_versions"]["openvino"] == r["runtime_version"] for r in ov)
    assert "compile_model" in ov[0]["runtime_call"] and "INFERENCE_PRECISION_HINT" in ov[0]["runtime_call"]
    static = [r for r in ov if r["case"] == "batch_dynamic_axes" and r["dynamic_axes"] is False]
    assert static and {r["status"] for r in static} == {"batch-fail"}
