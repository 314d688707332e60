"""Starts a thread that segfaults the worker a few seconds after build() returned."""
import ctypes
import threading
import time

import torch

from matrix.wire import Case

CASE = Case(title="thread", pitfall="a background thread that crashes the process later")


def _crash_later():
    time.sleep(4)
    ctypes.string_at(0)


def build():
    threading.Thread(target=_crash_later, daemon=True, name="crash-later").start()
    return torch.nn.Tanh(), (torch.ones(1, 2),)
