"""The seed's basic recipe: export with named inputs and outputs, then verify in onnxruntime at batch size 2."""
from __future__ import annotations

import torch

from cases._expect import (CAFFE2_WEIGHTS, DYNAMO_2_5_SYMBOLIC_VIEW, OPENVINO_FUNCTIONS_2_1, OPENVINO_SEQUENTIAL_2_4,
                            REFERENCE_2_1)
from cases._inputs import randn
from matrix.wire import Case

CASE = Case(
    title="a small CNN classifier, exported with input/output names and dynamic_axes",
    pitfall="The recipe itself: torch.onnx.export(model, dummy_input, path, input_names=..., "
            "output_names=..., dynamic_axes=...), then onnxruntime.InferenceSession(path).run(None, {...}) "
            "with a batch of 2 and a second batch size. Every other case goes through the same steps.",
    seed=["S1", "S2"],
    batchable=True,
    holds_when="naive-passes",
    expect=[
        *CAFFE2_WEIGHTS,
        DYNAMO_2_5_SYMBOLIC_VIEW,
        REFERENCE_2_1,
        OPENVINO_FUNCTIONS_2_1,
        OPENVINO_SEQUENTIAL_2_4,
    ],
)


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                                            torch.nn.MaxPool2d(2))
        self.classifier = torch.nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def build():
    return TinyNet(), (randn(2, 3, 8, 8),)
