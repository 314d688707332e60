"""A case whose metadata has the wrong type."""
import torch

from matrix.wire import Case

CASE = Case(title="wrong meta", pitfall="atol must be a number", atol="tight")


def build():
    return torch.nn.ReLU(), (torch.ones(1, 2),)
