"""nn.Transformer (encoder-decoder), 1 + 1 layers, dynamic source and target lengths."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

D_MODEL = 16

CASE = Case(
    title="nn.Transformer, 1 encoder and 1 decoder layer, dynamic source and target lengths",
    pitfall="The whole encoder-decoder in one graph: source and target lengths are independent symbols, and "
            "the batch is shared.",
    corpus="models",
    dynamic={"src": {0: "src_len", 1: "batch"}, "tgt": {0: "tgt_len", 1: "batch"}},
    dynamic_outputs={0: {0: "tgt_len", 1: "batch"}},
)


class Seq2Seq(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = torch.nn.Transformer(D_MODEL, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                                dim_feedforward=32, dropout=0.0)

    def forward(self, src, tgt):
        return self.transformer(src, tgt)


def build():
    return Seq2Seq(), (randn(6, 2, D_MODEL), randn(4, 2, D_MODEL))


def shapes():
    return [(randn(9, 2, D_MODEL), randn(5, 2, D_MODEL)), (randn(3, 3, D_MODEL), randn(7, 3, D_MODEL))]
