"""`squeeze` of a dim whose size is not 1 is a no-op in PyTorch and an error in ONNX runtimes."""
from __future__ import annotations

import torch

from cases._expect import OPENVINO_FUNCTIONS_2_1, openvino_local_functions
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="squeeze(1) on a dim of size 3",
    pitfall="PyTorch's `squeeze(dim)` silently does nothing when that dim is not 1; old exporters "
            "emit an ONNX Squeeze on it anyway, which the runtime rejects. Guard the call with "
            "the size, so the trace records no Squeeze at all.",
    seed=["S13"],
    expect=[
        Expect("load-fail", variant="default", torch="<1.7", runtime="onnxruntime", match="must be 1",
               reason="torch 1.4 to 1.6 export Squeeze(axes=[1]) on a size-3 dim; onnxruntime refuses it (S13)"),
        Expect("run-fail", variant="default", torch="<1.7", runtime="reference",
               match="cannot select an axis to squeeze out",
               reason="the same torch 1.4 to 1.6 file, replayed: the reference evaluator refuses the Squeeze too "
                      "(S13)"),
        Expect("load-fail", variant="default", torch="<1.5", runtime="openvino", openvino="<2024",
               match="Only axes of size 1 may be removed",
               reason="torch 1.4's Squeeze(axes=[1]) on a size-3 dim: openvino 2023.1 refuses it (S13); 2026.4.1 "
                      "loads it and keeps the dim, as PyTorch does"),
        Expect("run-fail", variant="default", torch="<1.7", runtime="caffe2", match="must be 1 instead of 3",
               reason="Caffe2's Squeeze refuses a dim that is not 1 (S13; torch 1.4 to 1.6)"),
        Expect("load-fail", variant="default", torch=">=1.7,<1.8", opset=">=11", runtime="onnxruntime",
               match="must be 1 instead of 3",
               reason="torch 1.7's opset 11 squeeze puts Squeeze(axes=[1]) in an If on size(1) == 1: shape inference "
                      "of that branch still refuses the size-3 dim (S13; at opset 9 torch 1.7 keeps the dim, and 1.8 "
                      "is right)"),
        Expect("load-fail", variant="default", torch=">=1.7,<1.8", opset=">=11", runtime="caffe2",
               match="must be 1 instead of 3",
               reason="the same torch 1.7 file: Caffe2's ONNX backend runs shape inference first and refuses the "
                      "If branch's Squeeze (S13)"),
        Expect("load-fail", variant="default", exporter="dynamo", torch=">=2.5", runtime="onnxruntime", match="must be 1",
               reason="the dynamo exporter from 2.5 emits Squeeze on the size-3 dim again (2.4's did not): S13 holds "
                      "there"),
        Expect("run-fail", variant="default", exporter="dynamo", torch=">=2.6", runtime="reference",
               match="cannot select an axis to squeeze out",
               reason="onnx's reference evaluator refuses the same Squeeze: the file is wrong, not the runtime"),
        Expect("load-fail", variant="default", exporter="dynamo", torch=">=2.1,<2.4", runtime="onnxruntime",
               onnxruntime=">=1.17", match="must be 1",
               reason="torch 2.1 to 2.3's dynamo files already have the bad Squeeze: onnxruntime 1.16 loads it, later "
                      "releases check the shape and refuse it"),
        Expect("load-fail", variant="default", exporter="dynamo", runtime="reference", torch=">=2.1,<2.4",
               match="is unknown, known functions",
               reason="torch 2.1 to 2.3's dynamo_export calls torch_lib's aten_squeeze, whose Rank function the "
                      "reference evaluator cannot run"),
        Expect("load-fail", variant="default", exporter="dynamo", runtime="reference", torch=">=2.5,<2.6",
               match="is unknown, known functions",
               reason="torch 2.5's file calls torch_lib's aten_squeeze too (Rank is a function the reference "
                      "evaluator cannot run)"),
        openvino_local_functions(">=2.5,<2.6", "torch 2.5's export(dynamo=True) leaves squeeze as a call to "
                                 "torch_lib's aten_squeeze_dim", variant="default"),
        OPENVINO_FUNCTIONS_2_1,
    ],
)


class SqueezeNaive(torch.nn.Module):
    def forward(self, a):
        return a.squeeze(1) + 1


class SqueezeGuarded(torch.nn.Module):
    def forward(self, a):
        if a.size(1) == 1:
            a = a.squeeze(1)
        return a + 1


def build():
    return SqueezeNaive(), (randn(2, 3, 4),)


def build_workaround():
    return SqueezeGuarded(), (randn(2, 3, 4),)
