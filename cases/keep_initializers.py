"""Caffe2 cannot load a model whose weights are initializers but not graph inputs."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.worker.spec import Case, Expect

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
        Expect("load-fail", runtime="caffe2", options={"keep_initializers_as_inputs": False},
               match="_Map_base::at",
               reason="Caffe2 needs the initializers listed as graph inputs (S4, onnx/onnx#2458)"),
    ],
)


def build():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    return model, (randn(2, 4),)
