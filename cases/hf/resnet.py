"""ResNet: ResNetModel from a tiny ResNetConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("resnet")


def build():
    return tiny_model("resnet")


def shapes():
    return other_shapes("resnet")
