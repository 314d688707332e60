"""nn.Embedding with a padding index, mean-pooled over the sequence, into a classifier."""
from __future__ import annotations

import torch

from cases.models._models import tokens
from matrix.wire import Case

VOCAB = 50

CASE = Case(
    title="nn.Embedding (padding_idx=0) mean-pooled over a dynamic sequence, then Linear",
    pitfall="Token ids are int64 gathered from a table (Gather); a mean over the sequence divides by its length, "
            "which a trace may record as a constant.",
    corpus="models",
    dynamic={"ids": {0: "batch", 1: "seq"}},
    dynamic_outputs={0: {0: "batch"}},
)


class BagOfWords(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, 16, padding_idx=0)
        self.classify = torch.nn.Linear(16, 3)

    def forward(self, ids):
        return self.classify(self.embedding(ids).mean(dim=1))


def build():
    return BagOfWords(), (tokens(VOCAB, 2, 6),)


def shapes():
    return [(tokens(VOCAB, 3, 11),), (tokens(VOCAB, 2, 3),), (tokens(VOCAB, 0, 6),)]  # and an empty batch
