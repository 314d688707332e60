"""In-place arithmetic on a slice becomes index_put / copy_ in the graph, which old exporters reject."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.worker.spec import Case

CASE = Case(
    title="y[:, :2] += 1 on a clone",
    pitfall="Writing through a view (x[:, :2] += 1, x[:, 0].mul_(2)) is recorded as a copy into a slice "
            "of the base tensor; exporters before opset 11 have no op for it. Build the result out of place "
            "with torch.cat instead.",
    batchable=True,
)


class SliceInPlace(torch.nn.Module):
    def forward(self, x):
        y = x.clone()
        y[:, :2] += 1
        y[:, 3].mul_(2)
        return y


class OutOfPlace(torch.nn.Module):
    def forward(self, x):
        return torch.cat([x[:, :2] + 1, x[:, 2:3], x[:, 3:4] * 2, x[:, 4:]], dim=1)


def build():
    return SliceInPlace(), (randn(2, 6),)


def build_workaround():
    return OutOfPlace(), (randn(2, 6),)
