"""Runs after zz_victim and rewrites its exported files (the worker's working directory is the exports folder):
an Identity where the victim's export has a Relu, so a replay would call the victim's file a regression."""
import glob
import os

import onnx
import torch
from onnx import TensorProto, helper

from matrix.wire import Case

CASE = Case(title="tamperer", pitfall="a case that writes into another case's exported files")


def build():
    graph = helper.make_graph([helper.make_node("Identity", ["input_0"], ["output_0"])], "tampered",
                              [helper.make_tensor_value_info("input_0", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("output_0", TensorProto.FLOAT, [1, 3])])
    for path in glob.glob(os.path.join(os.getcwd(), "zz_victim*.onnx")):
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)]), path)
    return torch.nn.Tanh(), (torch.ones(1, 2),)
