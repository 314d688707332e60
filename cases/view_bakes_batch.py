"""A size turned into a Python int during tracing is baked into the graph as a constant."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.worker.spec import Case

CASE = Case(
    title="x.view(int(x.size(0)), -1)",
    pitfall="x.size(0) is traced as a graph op, but int(x.size(0)) (or x.shape[0] used in Python "
            "arithmetic) is a plain number to the tracer: the reshape keeps the example's batch size and "
            "fails at any other, even with dynamic_axes. Keep sizes as tensors: x.flatten(1).",
    batchable=True,
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
