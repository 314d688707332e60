"""nn.MultiheadAttention with a key_padding_mask and an attn_mask, dynamic lengths."""
from __future__ import annotations

import torch

from cases._inputs import randn
from cases.models._models import causal_mask
from matrix.wire import Case

EMBED = 16

CASE = Case(
    title="nn.MultiheadAttention, self-attention with key_padding_mask (bool) and a causal attn_mask",
    pitfall="Both masks of MultiheadAttention at once: a boolean (batch, seq) padding mask and a float (seq, seq) "
            "attention mask, which the exporters turn into additions of -inf; the returned attention weights are "
            "averaged over the heads.",
    corpus="models",
    dynamic={"x": {0: "seq", 1: "batch"}, "padding": {0: "batch", 1: "seq"}, "attn_mask": {0: "seq", 1: "seq"}},
    dynamic_outputs={0: {0: "seq", 1: "batch"}, 1: {0: "batch", 1: "seq", 2: "seq"}},
)


class SelfAttention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = torch.nn.MultiheadAttention(EMBED, num_heads=2)

    def forward(self, x, padding, attn_mask):
        return self.attention(x, x, x, key_padding_mask=padding, attn_mask=attn_mask)


def _padding(batch, seq):
    """The last position of every sequence but the first is padding (never a whole row: softmax of nothing)."""
    mask = torch.zeros(batch, seq, dtype=torch.bool)
    mask[1:, -1] = True
    return mask


def build():
    return SelfAttention(), (randn(5, 2, EMBED), _padding(2, 5), causal_mask(5))


def shapes():
    return [(randn(8, 3, EMBED), _padding(3, 8), causal_mask(8)), (randn(3, 2, EMBED), _padding(2, 3), causal_mask(3))]
