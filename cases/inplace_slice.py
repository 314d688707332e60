"""In-place arithmetic on a slice becomes index_put / copy_ in the graph, which old exporters reject."""
from __future__ import annotations

import torch

from cases._expect import (ATEN_INDEX_PUT_1_5, CAFFE2_NO_SCATTER_ND, OPENVINO_FUNCTIONS_2_1, OPENVINO_STATIC_INPUT,
                           caffe2_initializers, index_put_opset_9, openvino_local_functions)
from cases._inputs import randn
from matrix.wire import Case, Expect

_, DEFAULT_1_8, DEFAULT_1_10 = caffe2_initializers(variant="default")

CASE = Case(
    title="y[:, :2] += 1 on a clone",
    pitfall="Writing through a view (x[:, :2] += 1, x[:, 0].mul_(2)) is recorded as a copy into a slice "
            "of the base tensor; exporters before opset 11 have no op for it. Build the result out of place "
            "with torch.cat instead.",
    batchable=True,
    expect=[
        Expect("diverge", variant="default", torch="<1.5", match="beyond atol",
               reason="torch 1.4 traces the write through a slice as a copy the graph then drops: the update is lost"),
        *ATEN_INDEX_PUT_1_5,
        Expect("run-fail", variant="default", runtime="caffe2", torch=">=1.5,<1.6", opset="<11",
               match="too many indices for tensor",
               reason="torch 1.5's ATen fallback for index_put (below opset 11): Caffe2 runs ATen ops itself, and "
                      "its index_put fails on these indices"),
        index_put_opset_9(),
        Expect("diverge", variant="workaround", runtime="caffe2", opset=">=11", match="has shape (2, 24)",
               reason="Caffe2's Slice at opset 11 ignores the ends input: the concat comes out (2, 24)"),
        Expect("load-fail", variant="default", runtime="caffe2", torch=">=1.5,<1.8", opset=">=11",
               match="Error while processing node",
               reason="Caffe2's ONNX backend cannot translate ScatterND; in torch 1.5 to 1.7's graph it meets it "
                      "before S4's initializers (1.8's graph fails on an initializer first)"),
        DEFAULT_1_8,
        CAFFE2_NO_SCATTER_ND,
        DEFAULT_1_10,
        Expect("diverge", variant="default", exporter="torchscript", torch=">=1.5,<1.9", match="beyond atol",
               reason="torch 1.8's ScatterND for the two slice writes loses one of them at opset 11: the file "
                      "is wrong on every runtime"),
        Expect("run-fail", variant="default", runtime="reference", onnx=">=1.13,<1.15", match="is out of bounds",
               reason="the reference ScatterND of onnx 1.13/1.14 indexes out of bounds on this graph"),
        OPENVINO_FUNCTIONS_2_1,
        openvino_local_functions(">=2.4,<2.6", "torch 2.4 and 2.5's export(dynamo=True) leave the write through "
                                 "y[:, 3] as a call to torch_lib's aten_select_scatter", variant="default"),
        Expect("batch-fail", exporter="dynamo", runtime="onnxruntime", torch=">=2.5,<2.6", match="invalid dimensions",
               reason="torch 2.5's dynamo declares the input with the example's batch of 2: onnxruntime refuses 3"),
        Expect("batch-fail", exporter="dynamo", runtime="openvino", torch=">=2.5,<2.6", match=OPENVINO_STATIC_INPUT,
               reason="torch 2.5's dynamo declares the input with the example's batch of 2: OpenVINO refuses 3"),
        Expect("export-fail", variant="default", exporter="dynamo", torch=">=2.8,<2.9", match="onnx_ir.passes",
               reason="torch 2.8's exporter fails in an onnx_ir pass after inlining the slice writes (2.7 and 2.9 "
                      "export them)"),
        Expect("run-fail", variant="default", exporter="torchscript", runtime="onnxruntime", opset="==11",
               torch=">=2.3,<2.4", match="Reshape",
               reason="torch 2.3's TorchScript export of the slice writes at opset 11 has a Reshape onnxruntime "
                      "cannot run at batch 2 (2.2 and 2.4 are right)"),
        openvino_local_functions(">=2.6,<2.7", "torch 2.6's export(dynamo=True) leaves the writes through the "
                                 "slices as calls to torch_lib's aten_copy and aten_select_scatter", variant="default"),
    ],
)


class SliceInPlace(torch.nn.Module):
    def forward(self, x):
        y = x.clone()
        y[:, :2] += 1
        y[:, 3].mul_(2)
        return y


class OutOfPlace(torch.nn.Module):
    def forward(self, x):
        return torch.cat([x[:, :2] + 1, x[:, 2:3], x[:, 3:4] * 2, x[:, 4:]], dim=1)


def build():
    return SliceInPlace(), (randn(2, 6),)


def build_workaround():
    return OutOfPlace(), (randn(2, 6),)
