"""Bilinear upsampling exported at opset 9 uses Upsample's asymmetric coordinates and gives other numbers."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cases._expect import CAFFE2_CONSTANTS, DYNAMO_SIZE_ONE, OPENVINO_FUNCTIONS_2_1, OPENVINO_STATIC_INPUT
from cases._inputs import randn
from matrix.wire import Case, Expect

CASE = Case(
    title="F.interpolate(scale_factor=2), bilinear versus nearest",
    pitfall="ONNX Upsample (opset 9) has no coordinate_transformation_mode: bilinear with "
            "align_corners=False maps pixels differently from PyTorch. Resize (opset 11) can say "
            "'half_pixel'. Nearest neighbour agrees at every opset.",
    batchable=True,
    expect=[
        Expect("load-fail", runtime="caffe2", opset=">=11", torch="<1.6", match="Resize",
               reason="Caffe2's ONNX backend cannot translate Resize (opset 11); torch 1.4 and 1.5's graphs have no "
                      "initializer to fail on first (S4)"),
        Expect("load-fail", runtime="caffe2", opset=">=11", torch=">=1.10,<1.11", match="Resize",
               reason="Caffe2's ONNX backend cannot translate Resize (opset 11)"),
        Expect("pass", variant="nearest", runtime="caffe2", opset="<11", torch=">=1.5,<1.6",
               reason="torch 1.5's opset 9 graph computes Upsample's scales from Shape and Constant nodes, with no "
                      "initializer: Caffe2 runs it (torch 1.6 folds the scales into an initializer and S4 fails it)"),
        Expect("diverge", variant="default", runtime="caffe2", opset="<11", torch=">=1.5,<1.6", match="beyond atol",
               reason="torch 1.5's opset 9 graph has no initializer, so Caffe2 runs it, and Upsample computes "
                      "bilinear with asymmetric coordinates, not PyTorch's half-pixel ones (from 1.6 S4 fails it "
                      "first)"),
        *CAFFE2_CONSTANTS,
        Expect("run-fail", variant="default", runtime="reference", exporter="torchscript", opset="<11",
               match="Not implemented for mode='linear'",
               reason="the reference evaluator's Upsample has no linear mode for these scales"),
        Expect("run-fail", runtime="reference", exporter="torchscript", opset=">=11,<18", onnx="<1.22",
               match="out of bounds for axis 0 with size 0",
               reason="the reference Resize of onnx < 1.22 indexes the empty roi input of these opset 11 graphs "
                      "(onnx 1.22's runs them)"),
        Expect("diverge", variant="default", exporter="torchscript", opset="<11", match="beyond atol",
               reason="Upsample (opset 9) has no coordinate_transformation_mode: bilinear is computed with "
                      "asymmetric coordinates, not PyTorch's half-pixel ones"),
        Expect("export-fail", exporter="dynamo", torch="<2.3", match="Failed to export the model to ONNX",
               reason="torch 2.1 and 2.2's dynamo_export cannot export upsample_bilinear2d/nearest2d"),
        Expect("export-fail", variant="nearest", exporter="dynamo", torch=">=2.3,<2.5",
               match="Failed to export the model to ONNX",
               reason="torch 2.3 and 2.4's dynamo exporters fail on upsample_nearest2d (2.3 exports bilinear)"),
        OPENVINO_FUNCTIONS_2_1,
        Expect("batch-fail", exporter="dynamo", runtime="onnxruntime", torch=">=2.3,<2.8", match="invalid dimensions",
               reason=DYNAMO_SIZE_ONE + " (torch 2.8 keeps it dynamic)"),
        Expect("batch-fail", exporter="dynamo", runtime="openvino", torch=">=2.4,<2.5",
               match="Can not clone with new dims",
               reason=DYNAMO_SIZE_ONE + ": torch 2.4 declares the input [1, s0, s1, s1], and OpenVINO's CPU plugin "
                      "refuses batch 2 against that static 1 (seen with openvino 2026.4.1)"),
        Expect("batch-fail", exporter="dynamo", runtime="openvino", torch=">=2.5,<2.8", match=OPENVINO_STATIC_INPUT,
               reason=DYNAMO_SIZE_ONE + ": torch 2.5 to 2.7 declare the input [1, 2, 4, 4], and OpenVINO refuses "
                      "batch 2"),
    ],
)


class Bilinear(torch.nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


class Nearest(torch.nn.Module):
    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def build():
    return Bilinear(), (randn(1, 2, 4, 4),)


def build_nearest():
    return Nearest(), (randn(1, 2, 4, 4),)
