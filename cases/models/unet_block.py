"""A UNet-style level: down (conv, max-pool), up (ConvTranspose2d and interpolate), skip connection by cat."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="a UNet-style block: ConvTranspose2d up-sampling, bilinear interpolate to the skip's size, cat",
    pitfall="Up-sampling to the skip connection's size reads that size at run time (interpolate(size=skip.shape"
            "[-2:])): a trace that records it as constants gives a graph that only runs at the traced image size.",
    corpus="models",
    dynamic={"image": {0: "batch", 2: "height", 3: "width"}},
    dynamic_outputs={0: {0: "batch", 2: "height", 3: "width"}},
)


class UNetLevel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.down = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
        self.bottom = torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU())
        self.up = torch.nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.head = torch.nn.Conv2d(8 + 8 + 16, 4, 1)

    def forward(self, image):
        skip = self.down(image)
        bottom = self.bottom(skip)
        resized = torch.nn.functional.interpolate(bottom, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(torch.cat([skip, self.up(bottom), resized], dim=1))


def build():
    return UNetLevel(), (randn(2, 3, 16, 16),)


def shapes():
    return [(randn(3, 3, 16, 16),), (randn(2, 3, 24, 32),)]
