"""Switches the default dtype to float64 and leaves it so."""
import torch

from matrix.wire import Case

CASE = Case(title="dtype", pitfall="torch.set_default_dtype(torch.float64) in build()")


def build():
    torch.set_default_dtype(torch.float64)
    return torch.nn.ReLU(), (torch.ones(1, 2),)
