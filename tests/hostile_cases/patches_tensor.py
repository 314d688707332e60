"""Gives torch.Tensor an add of its own that subtracts, and leaves it so."""
import torch

from matrix.wire import Case

CASE = Case(title="tensor patch", pitfall="torch.Tensor.add replaced in build()")


def build():
    torch.Tensor.add = lambda self, other, **kwargs: torch.sub(self, other)
    return torch.nn.Tanh(), (torch.ones(1, 2),)
