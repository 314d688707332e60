"""Runs after every other case here and checks that none of them reached it."""

import torch

from matrix.wire import Case

CASE = Case(title="victim", pitfall="an innocent case after a guilty one")


def build():
    if torch.get_default_dtype() != torch.float32:
        raise AssertionError("the default dtype is %s, not float32" % torch.get_default_dtype())
    return torch.nn.ReLU(), (torch.tensor([[-1.0, 2.0, -3.0]]),)
