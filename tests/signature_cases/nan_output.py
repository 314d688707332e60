"""An output that is NaN where the input is negative (log): NaN at the same place on both sides is equal."""
import torch

from matrix.wire import Case

CASE = Case(title="NaN in the output", pitfall="eager's own output holds NaN")


class Log(torch.nn.Module):
    def forward(self, x):
        return torch.log(x)


def build():
    return Log(), (torch.tensor([[1.0, -1.0, 4.0]]),)
