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
