"""Same id as fake_cases/passes.py: running both folders together must refuse."""
import torch


def build():
    return torch.nn.ReLU(), (torch.ones(1, 2),)
