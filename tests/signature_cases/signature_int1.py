"""forward(x, i: int) slices at i: TorchScript keeps i as a 0-d int64 input, dynamo bakes it in."""
import torch

from matrix.wire import Case

CASE = Case(title="int argument (slice)", pitfall="a Python int argument of forward, as onnx-diagnostic's SignatureInt1")


class SignatureInt1(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x, i: int = 2):
        return torch.sigmoid(self.linear(x)) + x[:, i:i + 1]


def build():
    return SignatureInt1(), (torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]]), 1)
