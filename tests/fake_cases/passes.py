"""A tiny model that every runtime runs."""
import torch

from matrix.wire import Case

CASE = Case(title="passes", pitfall="none: the control case", batchable=True)


def build():
    return torch.nn.ReLU(), (torch.tensor([[-1.0, 2.0]]),)
