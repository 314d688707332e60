"""MNASNet 0.5: torchvision.models.mnasnet0_5 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("mnasnet0_5")


def build():
    return vision_model("mnasnet0_5")


def shapes():
    return other_shapes("mnasnet0_5")
