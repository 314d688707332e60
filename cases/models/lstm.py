"""nn.LSTM: 2 layers, bidirectional, batch_first, with dynamic batch and sequence axes."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="nn.LSTM, 2 layers, bidirectional, batch_first, dynamic batch and sequence",
    pitfall="A recurrent layer is one ONNX LSTM node per layer and direction; its initial states are sized by the "
            "batch, so an exporter that builds them from the traced batch size runs only at that size.",
    corpus="models",
    dynamic={"x": {0: "batch", 1: "seq"}},
    dynamic_outputs={0: {0: "batch", 1: "seq"}, 1: {1: "batch"}, 2: {1: "batch"}},
)


class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x):
        output, (h, c) = self.rnn(x)
        return output, h, c


def build():
    return Tagger(), (randn(2, 5, 8),)


def shapes():
    return [(randn(3, 9, 8),), (randn(2, 2, 8),)]
