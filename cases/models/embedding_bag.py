"""nn.EmbeddingBag (mode='sum') over flat indices and per-bag offsets: a dynamic count of indices and of bags."""
from __future__ import annotations

import torch

from cases.models._models import tokens
from matrix.wire import Case

VOCAB = 50

CASE = Case(
    title="nn.EmbeddingBag (mode='sum') with 1-D indices and offsets, dynamic numbers of indices and bags",
    pitfall="The recommender's layer: bags of different sizes given as flat indices and start offsets. ONNX has "
            "no EmbeddingBag; exporters unroll it into a Loop over the bags (or refuse it), and the number of "
            "bags is the length of the offsets.",
    corpus="models",
    dynamic={"indices": {0: "indices"}, "offsets": {0: "bags"}},
    dynamic_outputs={0: {0: "bags"}},
)


class Bags(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bags = torch.nn.EmbeddingBag(VOCAB, 8, mode="sum")

    def forward(self, indices, offsets):
        return self.bags(indices, offsets)


def build():
    return Bags(), (tokens(VOCAB, 7), torch.tensor([0, 3, 4], dtype=torch.int64))


def shapes():
    return [(tokens(VOCAB, 12), torch.tensor([0, 2, 5, 9, 10], dtype=torch.int64)),
            (tokens(VOCAB, 4), torch.tensor([0, 1], dtype=torch.int64))]
