"""A size turned into a Python int during tracing is baked into the graph as a constant."""
from __future__ import annotations

import torch

from cases._expect import DYNAMO_2_5_SYMBOLIC_VIEW, OPENVINO_FUNCTIONS_2_1, OPENVINO_STATIC_INPUT
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="x.view(int(x.size(0)), -1)",
    pitfall="x.size(0) is traced as a graph op, but int(x.size(0)) (or x.shape[0] used in Python "
            "arithmetic) is a plain number to the tracer: the reshape keeps the example's batch size and "
            "fails at any other, even with dynamic_axes. Keep sizes as tensors: x.flatten(1).",
    batchable=True,
    expect=[
        Expect("diverge", variant="default", exporter="torchscript", torch=">=1.7", match="has shape (2, 18)",
               reason="int(x.size(0)) is a Python number to the tracer: at batch 3 the reshape still makes 2 rows, "
                      "silently (from torch 1.7.0; 1.4 to 1.6 still recorded the size op)"),
        DYNAMO_2_5_SYMBOLIC_VIEW,
        Expect("diverge", variant="default", exporter="dynamo", torch=">=2.7,<2.8", match="has shape (2, 18)",
               reason="torch 2.7's dynamo keeps the batch symbolic but the reshape at the example's 2 rows: batch 3 "
                      "comes out (2, 18) on every runtime, silently (2.6 refused batch 3; 2.8 is right)"),
        Expect("batch-fail", variant="default", exporter="dynamo", runtime="onnxruntime", torch=">=2.6,<2.7",
               match="invalid dimensions",
               reason="torch 2.6's dynamo specialises int(x.size(0)) to the example's 2 and declares the input "
                      "so: onnxruntime refuses batch 3"),
        Expect("batch-fail", variant="default", exporter="dynamo", runtime="openvino", torch=">=2.6,<2.7",
               match=OPENVINO_STATIC_INPUT,
               reason="the same torch 2.6 file: OpenVINO compiles the input declared with batch 2 as static and "
                      "refuses batch 3"),
        Expect("diverge", variant="default", exporter="dynamo", runtime="reference", torch=">=2.6,<2.7",
               match="has shape (2, 18)",
               reason="the same torch 2.6 file: the reference evaluator does not check declared shapes and "
                      "reshapes batch 3 into 2 rows"),
        OPENVINO_FUNCTIONS_2_1,
    ],
)


class Baked(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x.view(int(x.size(0)), -1))


class Flatten(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x.flatten(1))


def build():
    return Baked(), (randn(2, 3, 4),)


def build_workaround():
    return Flatten(), (randn(2, 3, 4),)
