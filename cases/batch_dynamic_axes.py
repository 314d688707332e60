"""Without `dynamic_axes` the exported graph fixes the batch size it was traced at."""
from __future__ import annotations

import torch

from cases._expect import (CAFFE2_WEIGHTS, OPENVINO_FUNCTIONS_2_1, OPENVINO_SEQUENTIAL_2_4, OPENVINO_STATIC_INPUT,
                           REFERENCE_2_1)
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="an MLP run at a second batch size, with and without dynamic_axes",
    pitfall="torch.onnx.export records the example input's shapes as fixed. The seed verifies an export "
            "with onnxruntime at batch size 2 and declares dim 0 of every input and output dynamic: "
            "dynamic_axes={'input_1': [0], 'output_1': [0]}. Without it a second batch size is refused.",
    seed=["S3"],
    naive={"dynamic_axes": False},
    fixed={"dynamic_axes": True},
    batchable=True,
    options={"dynamic_axes": [False, True]},
    expect=[
        Expect("batch-fail", runtime="onnxruntime", options={"dynamic_axes": False}, match="invalid dimensions",
               reason="the graph's input is declared with the traced batch size; onnxruntime rejects another (S3)"),
        # before OpenVINO's batch Expect: torch 2.1 and 2.4's dynamo files of this MLP do not load there
        OPENVINO_FUNCTIONS_2_1,
        OPENVINO_SEQUENTIAL_2_4,
        Expect("batch-fail", runtime="openvino", openvino="<2024", options={"dynamic_axes": False},
               match="The input blob size is not equal to the network input size",
               reason="S3 on openvino 2023.1, in its words"),
        Expect("batch-fail", runtime="openvino", options={"dynamic_axes": False}, match=OPENVINO_STATIC_INPUT,
               reason="OpenVINO compiles the declared input shape as static and refuses another batch size "
                      "(seen with openvino 2026.4.1): S3 holds on OpenVINO too"),
        *CAFFE2_WEIGHTS,
        REFERENCE_2_1,
    ],
)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))

    def forward(self, x):
        return self.body(x)


def build():
    return MLP(), (randn(2, 8),)
