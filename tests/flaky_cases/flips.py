"""Fails to build the first time it runs (no marker file yet), builds fine ever after: a flaky cell."""
import os

import torch

from matrix.wire import Case

CASE = Case(title="flips", pitfall="an outcome that changes from one run to the next")


def build():
    marker = os.environ["MATRIX_TEST_FLAKY_MARKER"]
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first run fails")
    return torch.nn.ReLU(), (torch.tensor([[-1.0, 2.0]]),)
