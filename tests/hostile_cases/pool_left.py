"""Leaves a fork-based multiprocessing pool running (its workers hold whatever the process had open)."""
import multiprocessing

import torch

from matrix.wire import Case

CASE = Case(title="pool", pitfall="a fork pool left running")
POOLS = []


def build():
    POOLS.append(multiprocessing.get_context("fork").Pool(2))
    return torch.nn.Tanh(), (torch.ones(1, 2),)
