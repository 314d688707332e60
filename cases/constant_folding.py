"""Without constant folding, computations on weights and shapes stay in the graph as nodes."""
from __future__ import annotations

import torch

from cases._expect import CAFFE2_WEIGHTS, OPENVINO_FUNCTIONS_2_1, REFERENCE_2_1, openvino_local_functions
from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="weights transformed in forward(), exported with and without do_constant_folding",
    pitfall="A forward() that transposes, scales or reshapes its parameters exports those ops as nodes "
            "unless do_constant_folding=True folds them into initializers. The seed met an opset 11 model "
            "that onnxruntime did not run on the GPU and suggests do_constant_folding=True; the matrix "
            "records node counts and, on CUDA, the share of nodes onnxruntime placed on the GPU.",
    seed=["S5"],
    naive={"do_constant_folding": False},
    fixed={"do_constant_folding": True},
    holds_when="lower-gpu-share",
    links=["https://github.com/triton-inference-server/server/issues/1080",
           "https://github.com/microsoft/onnxruntime/issues/3067"],
    batchable=True,
    options={"do_constant_folding": [False, True]},
    expect=[
        *CAFFE2_WEIGHTS,
        REFERENCE_2_1,
        OPENVINO_FUNCTIONS_2_1,
        openvino_local_functions(">=2.5,<2.7", "torch 2.5 and 2.6's export(dynamo=True) leave the exp of the weights as a "
                                               "call to torch_lib's aten_exp"),
    ],
)


class FoldMe(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(16, 8) * 0.1)
        self.log_scale = torch.nn.Parameter(torch.zeros(16))
        self.table = torch.nn.Parameter(torch.randn(4, 4, 4) * 0.1)

    def forward(self, x):
        weight = self.weight.t().contiguous() * self.log_scale.exp()  # foldable: parameters only
        table = self.table.reshape(16, 4).sum(dim=1)  # foldable: a shape computation on a parameter
        return torch.relu(x.matmul(weight) + table)


def build():
    return FoldMe(), (randn(3, 8),)
