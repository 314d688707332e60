"""A list of tensors as input is flattened into one graph input per element."""
from __future__ import annotations

import torch

from cases._expect import DYNAMO_2_5_INPUT_NAMES, OPENVINO_FUNCTIONS_2_1
from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="forward(xs) with xs a list of two tensors",
    pitfall="ONNX has no tensor-list type: a list input is unrolled into as many inputs as the example "
            "list had elements, so the graph only accepts lists of that length.",
    seed=["S9"],
    batchable=True,
    holds_when="naive-passes",
    expect=[DYNAMO_2_5_INPUT_NAMES, OPENVINO_FUNCTIONS_2_1],
)


class SumOfList(torch.nn.Module):
    def forward(self, xs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total * 2


def build():
    return SumOfList(), ([randn(2, 3), randn(2, 3)],)
