"""A string argument is baked into the graph as the value it had at export time."""
from __future__ import annotations

import torch

from cases._expect import OPENVINO_FUNCTIONS_2_1
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="forward(x, mode: str)",
    pitfall="Strings are not ONNX inputs: the exporter follows the branch the example string selects "
            "and drops the argument, so the exported graph cannot switch modes. Export one graph per mode.",
    seed=["S10"],
    batchable=True,
    holds_when="naive-passes",
    expect=[
        Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.6", match="dynamic_shapes",
               reason="dynamic_axes names the tensor inputs only; dynamo counts the string argument too and "
                      "cannot convert them to dynamic_shapes"),
        OPENVINO_FUNCTIONS_2_1,
    ],
)


class Mode(torch.nn.Module):
    def forward(self, x, mode):
        if mode == "double":
            return x * 2
        return x - 1


class DoubleOnly(torch.nn.Module):
    def forward(self, x):
        return Mode()(x, "double")


def build():
    return Mode(), (randn(2, 3), "double")


def build_workaround():
    return DoubleOnly(), (randn(2, 3),)
