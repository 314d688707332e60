"""Runs after every other case here and checks that none of them reached it."""
import random

import numpy
import torch

from matrix.wire import Case

CASE = Case(title="victim", pitfall="an innocent case after a guilty one")


def check_worker():
    """What the worker promises a case: float32, seed 0 just set, torch's own classes."""
    if torch.get_default_dtype() != torch.float32:
        raise AssertionError("the default dtype is %s, not float32" % torch.get_default_dtype())
    if random.random() != random.Random(0).random():
        raise AssertionError("random is not seeded with 0")
    if numpy.random.random_sample() != numpy.random.RandomState(0).random_sample():
        raise AssertionError("numpy.random is not seeded with 0")
    if not torch.equal(torch.rand(1), torch.rand(1, generator=torch.Generator().manual_seed(0))):
        raise AssertionError("torch is not seeded with 0")
    x = torch.tensor([[-1.0, 2.0]])
    if not torch.equal(torch.nn.ReLU()(x), torch.tensor([[0.0, 2.0]])) or not torch.equal(x.add(1), x + 1):
        raise AssertionError("torch.nn.ReLU or torch.Tensor.add is not torch's")


def build():
    check_worker()
    return torch.nn.ReLU(), (torch.tensor([[-1.0, 2.0, -3.0]]),)
