"""MobileNetV3-Small: torchvision.models.mobilenet_v3_small (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("mobilenet_v3_small")


def build():
    return vision_model("mobilenet_v3_small")


def shapes():
    return other_shapes("mobilenet_v3_small")
