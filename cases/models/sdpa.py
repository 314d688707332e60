"""torch.nn.functional.scaled_dot_product_attention in a small attention block, causal, dynamic lengths."""
from __future__ import annotations

import torch

from cases._inputs import randn
from cases.models._models import require
from matrix.wire import Case

EMBED, HEADS = 16, 2

CASE = Case(
    title="scaled_dot_product_attention (is_causal=True) in a projection block, dynamic batch and sequence",
    pitfall="The fused attention function of torch 2.0 on: exporters decompose it (matmul, scale, causal mask, "
            "softmax), and the causal mask is built from the sequence length, which a trace may freeze.",
    corpus="models",
    dynamic={"x": {0: "batch", 1: "seq"}},
    dynamic_outputs={0: {0: "batch", 1: "seq"}},
)


class Attention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(EMBED, 3 * EMBED)
        self.out = torch.nn.Linear(EMBED, EMBED)

    def forward(self, x):
        batch, seq = x.shape[0], x.shape[1]
        q, k, v = self.qkv(x).reshape(batch, seq, 3, HEADS, EMBED // HEADS).permute(2, 0, 3, 1, 4)
        attended = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(attended.transpose(1, 2).reshape(batch, seq, EMBED))


def build():
    require(torch.nn.functional, "scaled_dot_product_attention", "2.0")
    return Attention(), (randn(2, 6, EMBED),)


def shapes():
    return [(randn(3, 9, EMBED),), (randn(2, 3, EMBED),)]
