"""Registers a custom ONNX symbolic for relu that computes the negation, and leaves it registered."""
import torch

from matrix.wire import Case

CASE = Case(title="symbolic", pitfall="torch.onnx.register_custom_op_symbolic in build()")


def build():
    for opset in range(9, 21):
        torch.onnx.register_custom_op_symbolic("aten::relu", lambda g, x: g.op("Neg", x), opset)
    return torch.nn.Tanh(), (torch.ones(1, 2),)
