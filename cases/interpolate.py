"""Bilinear upsampling exported at opset 9 uses Upsample's asymmetric coordinates and gives other numbers."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from cases._inputs import randn
from matrix.worker.spec import Case

CASE = Case(
    title="F.interpolate(scale_factor=2), bilinear versus nearest",
    pitfall="ONNX Upsample (opset 9) has no coordinate_transformation_mode: bilinear with "
            "align_corners=False maps pixels differently from PyTorch. Resize (opset 11) can say "
            "'half_pixel'. Nearest neighbour agrees at every opset.",
    batchable=True,
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
