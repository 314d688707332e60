"""EfficientNet-B0: torchvision.models.efficientnet_b0 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("efficientnet_b0")


def build():
    return vision_model("efficientnet_b0")


def shapes():
    return other_shapes("efficientnet_b0")
