"""nn.TransformerEncoder (2 layers) with a dynamic sequence axis, run at another sequence length."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

D_MODEL = 16

CASE = Case(
    title="nn.TransformerEncoder, 2 layers, dynamic sequence and batch axes",
    pitfall="pytorch#128610: a TransformerEncoder exported with dynamic axes exports 'successfully' on torch 2.2.1 "
            "and is wrong at another sequence length (it was right on 1.11). The file is run at the traced length "
            "and at two others against eager PyTorch, so a length baked into the graph is a batch-fail.",
    links=["https://github.com/pytorch/pytorch/issues/128610"],
    corpus="models",
    dynamic={"src": {0: "seq", 1: "batch"}},
    dynamic_outputs={0: {0: "seq", 1: "batch"}},
)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(D_MODEL, nhead=2, dim_feedforward=32, dropout=0.0)
        self.encoder = torch.nn.TransformerEncoder(layer, num_layers=2)

    def forward(self, src):  # (seq, batch, d_model): the layout every release takes (batch_first came in 1.9)
        return self.encoder(src)


def build():
    return Encoder(), (randn(6, 2, D_MODEL),)


def shapes():
    return [(randn(9, 2, D_MODEL),), (randn(4, 3, D_MODEL),)]
