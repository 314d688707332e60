"""Wraps torch.onnx.export in a *args, **kwargs function (as tracing tools do) and leaves it wrapped."""
import torch

from matrix.wire import Case

CASE = Case(title="wrapper", pitfall="torch.onnx.export replaced in build()")
ORIGINAL = torch.onnx.export


def build():
    def export(*args, **kwargs):
        kwargs.pop("dynamo", None)  # a wrapper that does not know the flag: torch's default applies
        return ORIGINAL(*args, **kwargs)
    torch.onnx.export = export
    return torch.nn.Tanh(), (torch.ones(1, 2),)
