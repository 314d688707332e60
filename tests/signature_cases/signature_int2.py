"""forward(x, i: int) adds i."""
import torch

from matrix.wire import Case

CASE = Case(title="int argument (add)", pitfall="a Python int argument of forward, as onnx-diagnostic's SignatureInt2")


class SignatureInt2(torch.nn.Module):
    def forward(self, x, i: int):
        return x + i


def build():
    return SignatureInt2(), (torch.tensor([[0.5, -1.0, 2.0]]), 3)
