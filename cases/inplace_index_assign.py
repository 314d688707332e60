"""In-place indexed assignment `data[index] = new_data` exports only at newer opsets; scatter works earlier."""
from __future__ import annotations

import torch

from cases._expect import (ATEN_INDEX_PUT_1_4, ATEN_INDEX_PUT_1_5, OPENVINO_FUNCTIONS_2_1, OPENVINO_INDEX_PUT_2_4,
                           SCATTER_RUNTIMES, index_put_opset_9)
from cases._inputs import randn
from matrix.wire import Case, Expect

# torch 1.6 and 1.7's scatter with an expanded index (the workaround) builds an invalid shape.
_CONCAT_1_6 = ("torch 1.6 and 1.7 export the expanded index's shape as a Concat of a [1, 1] constant and a [1] "
               "tensor: the file is invalid ('All inputs to Concat must have same rank'); 1.5 and 1.8 export it right")

CASE = Case(
    title="data[index] = new_data versus scatter",
    pitfall="Indexed assignment becomes aten::index_put_, which the exporter could not express before "
            "opset 11 (ScatterND). The seed's workaround updates the tensor explicitly with scatter, "
            "which maps to ONNX Scatter from opset 9.",
    seed=["S8"],
    expect=[
        *ATEN_INDEX_PUT_1_4,
        *ATEN_INDEX_PUT_1_5,
        index_put_opset_9(),
        Expect("load-fail", variant="workaround", exporter="torchscript", runtime="caffe2", torch=">=1.7,<1.8",
               match="same rank",
               reason="%s; torch 1.7's Caffe2 meets it before S4's initializers" % _CONCAT_1_6),
        *SCATTER_RUNTIMES,
        Expect("load-fail", variant="workaround", exporter="torchscript", torch=">=1.6,<1.8", match="same rank",
               reason=_CONCAT_1_6),
        Expect("export-fail", variant="workaround", exporter="dynamo", torch="<2.5", match="Failed to export the model",
               reason="scatter with an expanded index: torch 2.1 and 2.4's dynamo exporters fail to translate it"),
        Expect("export-fail", variant="workaround", exporter="dynamo", torch=">=2.5,<2.9",
               match="Failed to convert the exported program to an ONNX model",
               reason="scatter with an expanded index: torch 2.6's dynamo exporter cannot translate it to ONNX"),
        OPENVINO_FUNCTIONS_2_1,
        OPENVINO_INDEX_PUT_2_4,
    ],
)


class IndexPut(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("index", torch.tensor([0, 2]))

    def forward(self, data, new_data):
        data = data.clone()
        data[self.index] = new_data
        return data * 1.5


class Scatter(IndexPut):
    def forward(self, data, new_data):
        # explicit sizes, not expand(-1, ...): the seed's S12 pitfall would bite here too
        rows = self.index.unsqueeze(1).expand(self.index.size(0), data.size(1))
        return data.scatter(0, rows, new_data) * 1.5


def build():
    return IndexPut(), (randn(4, 3), randn(2, 3))


def build_workaround():
    return Scatter(), (randn(4, 3), randn(2, 3))
