"""LR-ASPP (MobileNetV3-Large): torchvision.models.lraspp_mobilenet_v3_large (weights=None, random weights), its per-pixel logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("lraspp_mobilenet_v3_large")


def build():
    return vision_model("lraspp_mobilenet_v3_large")


def shapes():
    return other_shapes("lraspp_mobilenet_v3_large")
