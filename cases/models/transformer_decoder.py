"""nn.TransformerDecoder with a causal mask as an input, dynamic target and memory lengths."""
from __future__ import annotations

import torch

from cases._inputs import randn
from cases.models._models import causal_mask
from matrix.wire import Case

D_MODEL = 16

CASE = Case(
    title="nn.TransformerDecoder, 2 layers, causal tgt_mask, dynamic target and memory lengths",
    pitfall="A decoder's self-attention mask is (tgt_len, tgt_len) and its cross-attention reads a memory of "
            "another length: three inputs sharing two symbols. An exporter that ties them to the traced lengths "
            "runs only at those.",
    corpus="models",
    dynamic={"tgt": {0: "tgt_len", 1: "batch"}, "memory": {0: "src_len", 1: "batch"},
             "tgt_mask": {0: "tgt_len", 1: "tgt_len"}},
    dynamic_outputs={0: {0: "tgt_len", 1: "batch"}},
)


class Decoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerDecoderLayer(D_MODEL, nhead=2, dim_feedforward=32, dropout=0.0)
        self.decoder = torch.nn.TransformerDecoder(layer, num_layers=2)

    def forward(self, tgt, memory, tgt_mask):
        return self.decoder(tgt, memory, tgt_mask=tgt_mask)


def build():
    return Decoder(), (randn(5, 2, D_MODEL), randn(7, 2, D_MODEL), causal_mask(5))


def shapes():
    return [(randn(8, 2, D_MODEL), randn(7, 2, D_MODEL), causal_mask(8)),
            (randn(3, 3, D_MODEL), randn(10, 3, D_MODEL), causal_mask(3))]
