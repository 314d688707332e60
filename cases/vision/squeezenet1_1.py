"""SqueezeNet 1.1: torchvision.models.squeezenet1_1 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("squeezenet1_1")


def build():
    return vision_model("squeezenet1_1")


def shapes():
    return other_shapes("squeezenet1_1")
