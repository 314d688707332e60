"""A list whose length depends on the input needs a scripted loop, which old exporters cannot emit."""
from __future__ import annotations

from typing import List

import torch

from cases._inputs import randn
from matrix.worker.spec import Case

CASE = Case(
    title="a list built in a loop over x.size(0)",
    pitfall="Tracing unrolls a Python loop at the example's length, so the graph only fits that length. "
            "Scripting keeps the loop (ONNX Loop with a sequence, opset >= 11), which torch 1.4 at "
            "opset 9 cannot export; later versions can, at a newer opset.",
    seed=["S7", "S9"],
    batchable=True,
)


class RowsTimesIndex(torch.nn.Module):
    def forward(self, x):
        rows: List[torch.Tensor] = []
        for i in range(x.size(0)):
            rows.append(x[i] * float(i + 1))
        return torch.stack(rows)


def build():
    """Scripted: the loop's length follows the input."""
    return torch.jit.script(RowsTimesIndex()), (randn(3, 4),)


def build_traced():
    """Traced: the loop is unrolled three times."""
    return RowsTimesIndex(), (randn(3, 4),)


def build_workaround():
    """No list at all: the same numbers from one vectorised expression."""
    class Vectorised(torch.nn.Module):
        def forward(self, x):
            steps = torch.arange(1, x.size(0) + 1, dtype=torch.float32).unsqueeze(1)
            return x * steps
    return Vectorised(), (randn(3, 4),)
