"""Replaces torch.nn.ReLU.forward with the identity and leaves it so: every later ReLU, eager and exported alike."""
import torch

from matrix.wire import Case

CASE = Case(title="class patch", pitfall="torch.nn.ReLU.forward replaced in build()")


def build():
    torch.nn.ReLU.forward = lambda self, x: x
    return torch.nn.Tanh(), (torch.ones(1, 2),)
