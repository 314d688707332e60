"""A MobileNetV2-style inverted residual: pointwise expand, depthwise 3x3, pointwise project, ReLU6."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="a MobileNet-style depthwise-separable inverted residual block (groups=channels, ReLU6), dynamic batch "
          "and image size",
    pitfall="Depthwise convolutions (groups equal to the channels) and ReLU6 (a Clip whose bounds moved from "
            "attributes to inputs at opset 11): the two things a mobile network adds to a plain CNN.",
    corpus="models",
    dynamic={"image": {0: "batch", 2: "height", 3: "width"}},
    dynamic_outputs={0: {0: "batch", 2: "height", 3: "width"}},
)


class InvertedResidual(torch.nn.Module):
    def __init__(self, channels=8, expand=4):
        super().__init__()
        hidden = channels * expand
        self.block = torch.nn.Sequential(
            torch.nn.Conv2d(channels, hidden, 1, bias=False), torch.nn.BatchNorm2d(hidden), torch.nn.ReLU6(),
            torch.nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False), torch.nn.BatchNorm2d(hidden),
            torch.nn.ReLU6(),
            torch.nn.Conv2d(hidden, channels, 1, bias=False), torch.nn.BatchNorm2d(channels))

    def forward(self, image):
        return image + self.block(image)


def build():
    return InvertedResidual(), (randn(2, 8, 16, 16) * 3,)  # * 3: ReLU6's upper bound is reached


def shapes():
    return [(randn(3, 8, 16, 16) * 3,), (randn(2, 8, 20, 12) * 3,)]
