"""`expand` with -1 for unchanged dims exports at old opsets as a shape the runtime rejects."""
from __future__ import annotations

import torch

from cases._expect import CAFFE2_CONSTANTS, OPENVINO_FUNCTIONS_2_1, openvino_local_functions
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="expand(10, -1, -1)",
    pitfall="PyTorch lets `expand` keep a dim with -1; the torch 1.x exporter writes the -1 into "
            "the ONNX Expand shape, which means 'broadcast with -1' there, and the runtime refuses it. "
            "The seed's workaround spells every size out: a.expand(10, a.size(1), a.size(2)).",
    seed=["S12"],
    expect=[
        Expect("load-fail", variant="default", torch="<1.5", runtime="onnxruntime", match="Incompatible dimensions",
               reason="torch 1.4 exports Expand with shape (10, -1, -1); onnxruntime's shape inference rejects it (S12)"),
        Expect("run-fail", variant="default", torch="<1.5", runtime="reference", match="negative dimensions",
               reason="the same torch 1.4 file, replayed: the reference evaluator cannot broadcast to -1 either (S12)"),
        Expect("pass", variant="default", runtime="caffe2", torch=">=1.5,<1.6",
               reason="torch 1.5's graph has no initializer (it keeps the Shape and Constant nodes that 1.6 folds "
                      "into one): Caffe2 runs it; from 1.6 S4 fails it"),
        *CAFFE2_CONSTANTS,
        OPENVINO_FUNCTIONS_2_1,
        openvino_local_functions(">=2.5,<2.7", "torch 2.5 and 2.6's export(dynamo=True) leave expand as a call to "
                                               "torch_lib's aten_expand"),
    ],
)


class ExpandNaive(torch.nn.Module):
    def forward(self, a):
        return a.expand(10, -1, -1) * 2


class ExpandExplicit(torch.nn.Module):
    def forward(self, a):
        return a.expand(10, a.size(1), a.size(2)) * 2


def build():
    return ExpandNaive(), (randn(1, 3, 4),)


def build_workaround():
    return ExpandExplicit(), (randn(1, 3, 4),)
