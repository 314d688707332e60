"""A size turned into a Python int during tracing is baked into the graph as a constant."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.worker.spec import Case, Expect

CASE = Case(
    title="x.view(int(x.size(0)), -1)",
    pitfall="x.size(0) is traced as a graph op, but int(x.size(0)) (or x.shape[0] used in Python "
            "arithmetic) is a plain number to the tracer: the reshape keeps the example's batch size and "
            "fails at any other, even with dynamic_axes. Keep sizes as tensors: x.flatten(1).",
    batchable=True,
    expect=[
        Expect("batch-fail", variant="default", exporter="torchscript", torch=">=1.5",
               reason="int(x.size(0)) is a Python number to the tracer: the reshape keeps batch 2 "
                      "(torch 1.4 still recorded the size op)"),
        Expect("batch-fail", variant="default", exporter="dynamo", torch=">=2.6,<2.7",
               reason="torch 2.6's dynamo specialises int(x.size(0)) to the example's 2"),
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
