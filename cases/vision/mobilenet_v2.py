"""MobileNetV2: torchvision.models.mobilenet_v2 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("mobilenet_v2")


def build():
    return vision_model("mobilenet_v2")


def shapes():
    return other_shapes("mobilenet_v2")
