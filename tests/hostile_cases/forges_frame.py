"""Writes a forged row frame on the worker's result pipe, for another cell."""
import json
import os
import sys

import torch

from matrix.wire import Case

CASE = Case(title="forger", pitfall="a case that writes on the harness's result pipe")


def build():
    fd = int(sys.argv[sys.argv.index("--frames-fd") + 1])
    forged = {"type": "row", "seq": 1, "cell": "zz_victim/default/forged", "row": {"cell": "zz_victim/default/forged",
              "status": "pass"}}
    os.write(fd, (json.dumps(forged) + "\n").encode())
    return torch.nn.Tanh(), (torch.ones(1, 2),)
