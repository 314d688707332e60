"""Caffe2 cannot load a model whose weights are initializers but not graph inputs."""
from __future__ import annotations

import torch

from cases._expect import DYNAMO_2_4_SEQUENTIAL, OPENVINO_FUNCTIONS_2_1, REFERENCE_2_1, caffe2_initializers
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="Linear+ReLU with keep_initializers_as_inputs",
    pitfall="With keep_initializers_as_inputs=False the weights are initializers only (IR >= 4); "
            "Caffe2's ONNX backend looks them up among the graph inputs and fails with "
            "IndexError: _Map_base::at. Export with keep_initializers_as_inputs=True for Caffe2.",
    seed=["S4"],
    naive={"keep_initializers_as_inputs": False, "runtime": "caffe2"},
    fixed={"keep_initializers_as_inputs": True, "runtime": "caffe2"},
    links=["https://github.com/onnx/onnx/issues/2458", "https://github.com/onnx/onnx/issues/2417"],
    batchable=True,
    options={"keep_initializers_as_inputs": [False, True]},
    expect=[
        *caffe2_initializers(keep=False),
        DYNAMO_2_4_SEQUENTIAL,
        Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.2,<2.4",
               match="Failed to export the model to ONNX",
               reason="torch 2.2 and 2.3's dynamo_export fail on this model (SARIF report); 2.1's exported it"),
        REFERENCE_2_1,
        OPENVINO_FUNCTIONS_2_1,
    ],
)


def build():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    return model, (randn(2, 4),)
