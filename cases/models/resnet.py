"""A small ResNet: a stem, two BasicBlocks (one downsampling), global pooling, a classifier."""
from __future__ import annotations

import torch

from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="a small ResNet (BasicBlock x2, BatchNorm, a strided downsample), dynamic batch and image size",
    pitfall="The architecture most exported: convolutions fold their BatchNorms, the residual adds must keep "
            "their shapes, and adaptive average pooling must stay global at another image size.",
    corpus="models",
    dynamic={"image": {0: "batch", 2: "height", 3: "width"}},
    dynamic_outputs={0: {0: "batch"}},
)


class BasicBlock(torch.nn.Module):
    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(outputs)
        self.conv2 = torch.nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(outputs)
        self.shortcut = torch.nn.Sequential()
        if stride != 1 or inputs != outputs:
            self.shortcut = torch.nn.Sequential(torch.nn.Conv2d(inputs, outputs, 1, stride, bias=False),
                                                torch.nn.BatchNorm2d(outputs))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class ResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(8),
                                        torch.nn.ReLU())
        self.blocks = torch.nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 16, 2))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, image):
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(image))), 1))


def build():
    model = ResNet()
    for module in model.modules():  # running statistics other than 0 and 1, so folding them is tested
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    return model, (randn(2, 3, 32, 32),)


def shapes():
    return [(randn(3, 3, 32, 32),), (randn(2, 3, 40, 24),)]
