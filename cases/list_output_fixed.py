"""A fixed-length list of tensors returned from forward() exports as that many outputs."""
from __future__ import annotations

import torch

from cases._expect import OPENVINO_FUNCTIONS_2_1
from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="forward() returns [a, b, c]",
    pitfall="ONNX has no list type; a list whose length is known at export time becomes a tuple of "
            "outputs, one per element, and the runtime returns them in order.",
    seed=["S6"],
    batchable=True,
    holds_when="naive-passes",
    expect=[OPENVINO_FUNCTIONS_2_1],
)


class ThreeWays(torch.nn.Module):
    def forward(self, x):
        return [x + 1, x * 2, x.relu()]


def build():
    return ThreeWays(), (randn(2, 5),)
