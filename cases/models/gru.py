"""nn.GRU: 2 layers, bidirectional, batch_first, with dynamic batch and sequence axes."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="nn.GRU, 2 layers, bidirectional, batch_first, dynamic batch and sequence",
    pitfall="As the LSTM, with a GRU's gate order (ONNX's zrh against torch's rzn): an exporter that reorders "
            "them wrongly diverges at every shape; one that sizes the initial state from the trace fails at "
            "another batch.",
    corpus="models",
    dynamic={"x": {0: "batch", 1: "seq"}},
    dynamic_outputs={0: {0: "batch", 1: "seq"}, 1: {1: "batch"}},
)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(8, 16, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        output, h = self.rnn(x)
        return output, h


def build():
    return Encoder(), (randn(2, 5, 8),)


def shapes():
    return [(randn(3, 9, 8),), (randn(2, 2, 8),)]
