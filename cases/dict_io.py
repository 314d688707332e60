"""A dict as the last positional input is taken for keyword arguments by torch.onnx.export."""
from __future__ import annotations

import torch

from cases._expect import DYNAMO_2_5_INPUT_NAMES, OPENVINO_FUNCTIONS_2_1
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="forward(inputs: dict) -> dict",
    pitfall="Dicts are accepted but not recommended: torch.onnx.export reads a trailing dict in args as "
            "keyword arguments, the graph has no lookup by key (inputs and outputs are flattened in "
            "insertion order), and the names are lost. Pass tensors positionally and build the dict inside.",
    seed=["S10"],
    batchable=True,
    expect=[
        Expect("export-fail", variant="default", exporter="torchscript", torch=">=1.8,<1.12",
               match="'NoneType' object is not subscriptable",
               reason="torch 1.8 to 1.11 take a trailing dict in args for keyword arguments and call forward() "
                      "without the dict (S10; torch 1.4 to 1.7 still passed it positionally)"),
        Expect("export-fail", variant="default", exporter="torchscript", torch=">=1.12",
               match="missing 1 required positional argument: 'inputs'",
               reason="torch.onnx.export takes a trailing dict in args for keyword arguments: forward() gets "
                      "a=..., b=... instead of the dict (S10)"),
        Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.4,<2.5", match="tuple index out of range",
               reason="dynamic_axes names the flattened inputs, which torch 2.4's dynamo exporter cannot map onto "
                      "a dict argument"),
        DYNAMO_2_5_INPUT_NAMES,
        Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.6",
               match="Failed to convert 'dynamic_axes' to 'dynamic_shapes'",
               reason="dynamic_axes names the flattened inputs, which dynamo cannot map onto a dict argument's "
                      "dynamic_shapes"),
        OPENVINO_FUNCTIONS_2_1,
    ],
)


class DictIn(torch.nn.Module):
    def forward(self, inputs):
        return {"sum": inputs["a"] + inputs["b"], "product": inputs["a"] * inputs["b"]}


class Positional(torch.nn.Module):
    def forward(self, a, b):
        out = DictIn()({"a": a, "b": b})
        return out["sum"], out["product"]


def build():
    return DictIn(), ({"a": randn(2, 3), "b": randn(2, 3)},)


def build_workaround():
    return Positional(), (randn(2, 3), randn(2, 3))
