"""forward(x, like) uses ``like`` only for its shape: the exporter may drop it from the file."""
import torch

from matrix.wire import Case

CASE = Case(title="input used for its shape", pitfall="an input the exported file does not take")


class ShapeOnly(torch.nn.Module):
    def forward(self, x, like):
        return x.reshape(like.shape[0], -1)


def build():
    return ShapeOnly(), (torch.arange(6.0).reshape(2, 3), torch.zeros(3, 2))
