"""Calls os.fork() in build() and lets the child return into the harness."""
import os

import torch

from matrix.wire import Case

CASE = Case(title="fork", pitfall="os.fork() in build(), the child not exited")


def build():
    os.fork()
    return torch.nn.Tanh(), (torch.ones(1, 2),)
