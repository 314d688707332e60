"""A complex output (view_as_complex): dynamo writes it as real/imaginary pairs, a trailing dimension of 2."""
import torch

from matrix.wire import Case, Expect

CASE = Case(title="complex output", pitfall="a complex output, written as real/imaginary pairs",
            expect=[Expect("export-fail", exporter="torchscript", match="view_as_complex",
                           reason="the TorchScript exporter has no symbolic for aten::view_as_complex")])


class Complex(torch.nn.Module):
    def forward(self, x):
        return torch.view_as_complex(x) * 2


def build():
    return Complex(), (torch.tensor([[1.0, 2.0], [-3.0, 0.5]]),)
