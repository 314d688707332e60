"""`index_put_(accumulate=True)` with duplicate indices must add every duplicate; ScatterND keeps one."""
from __future__ import annotations

import torch

from cases._expect import (ATEN_INDEX_PUT_1_4, ATEN_INDEX_PUT_1_5, OPENVINO_FUNCTIONS_2_1, OPENVINO_INDEX_PUT_2_4,
                           SCATTER_RUNTIMES, index_put_opset_9)
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="x.index_put_((idx,), v, accumulate=True) with idx = [0, 2, 0]",
    pitfall="PyTorch adds all values that land on the same index. ONNX ScatterND before opset 16 has no "
            "reduction and leaves duplicates undefined (in practice the last write wins); from opset 16 "
            "reduction='add' exists, if the exporter uses it. index_add_ states the intent directly.",
    expect=[
        *ATEN_INDEX_PUT_1_4,
        *ATEN_INDEX_PUT_1_5,
        index_put_opset_9(),
        Expect("export-fail", variant="workaround", exporter="torchscript", torch="<1.9", match="index_add",
               reason="the TorchScript exporter has no symbolic for index_add before torch 1.9"),
        *SCATTER_RUNTIMES,
        Expect("diverge", exporter="torchscript", torch=">=1.5", match="beyond atol",
               reason="the TorchScript exporter writes ScatterND/ScatterElements without reduction: duplicate "
                      "indices keep one value instead of their sum, silently. The dynamo exporter gets it right"),
        OPENVINO_FUNCTIONS_2_1,
        OPENVINO_INDEX_PUT_2_4,
    ],
)


class Accumulate(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("index", torch.tensor([0, 2, 0]))

    def forward(self, x, values):
        x = x.clone()
        x.index_put_((self.index,), values, accumulate=True)
        return x


class IndexAdd(Accumulate):
    def forward(self, x, values):
        return x.index_add(0, self.index, values)


def build():
    return Accumulate(), (randn(4, 3), randn(3, 3))


def build_workaround():
    return IndexAdd(), (randn(4, 3), randn(3, 3))
