"""forward(x, alpha: float) scales by alpha: TorchScript keeps alpha as a 0-d double input."""
import torch

from matrix.wire import Case

CASE = Case(title="float argument", pitfall="a Python float argument of forward, as onnx-diagnostic's SignatureFloat1")


class SignatureFloat1(torch.nn.Module):
    def forward(self, x, alpha: float = 2.0):
        return torch.sigmoid(x) * alpha


def build():
    return SignatureFloat1(), (torch.tensor([[0.5, -1.0, 2.0]]), 1.5)
