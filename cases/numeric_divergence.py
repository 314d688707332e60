"""Last-bit differences between PyTorch and a runtime grow to order one through an untrained, chaotic network."""
from __future__ import annotations

import torch

from cases._expect import CAFFE2_WEIGHTS, OPENVINO_FUNCTIONS_2_1, REFERENCE_2_1
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="an untrained recurrent tanh network (gain 3, chaotic) and the same network contracting (gain 0.5)",
    pitfall="Every runtime computes tanh and matrix products with its own approximations and summation "
            "order, so its outputs differ from PyTorch's in the last bits. A trained network is contracting: "
            "it damps those differences and they stay at float32 rounding. An untrained random recurrent "
            "network whose gain is above 1 is chaotic: it amplifies them until, after 60 steps, the outputs "
            "(in -1..1) share nothing but their range. That is a property of the model, so it holds on every "
            "runtime and every CPU; the report shows the smallest atol each runtime would need.",
    seed=["S11"],
    atol=1e-4,
    rtol=0.0,
    batchable=True,
    expect=[
        *CAFFE2_WEIGHTS,
        REFERENCE_2_1,
        OPENVINO_FUNCTIONS_2_1,  # before the divergence: those files do not load
        Expect("diverge", variant="default", match="beyond atol",
               reason="the gain-3 random recurrent network is chaotic: last-bit differences in tanh and in the "
                      "matrix products grow to order 1 within 60 steps, on every runtime (S11)"),
    ],
)


class RecurrentTanh(torch.nn.Module):
    """h <- tanh(W h + U x), 60 steps, with W random of spectral radius about ``gain``."""

    def __init__(self, gain, width=64, steps=60):
        super().__init__()
        self.drive = torch.nn.Linear(width, width)
        self.recurrent = torch.nn.Linear(width, width, bias=False)
        torch.nn.init.normal_(self.recurrent.weight, std=gain / width ** 0.5)
        self.steps = steps

    def forward(self, x):
        drive = self.drive(x)
        h = torch.tanh(drive)
        for _ in range(self.steps):
            h = torch.tanh(self.recurrent(h) + drive)
        return h


def build():
    return RecurrentTanh(gain=3.0), (randn(4, 64),)


def build_workaround():
    """The same network, contracting (gain 0.5): what training usually leaves behind."""
    return RecurrentTanh(gain=0.5), (randn(4, 64),)
