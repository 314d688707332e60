"""ResNet-18: torchvision.models.resnet18 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("resnet18")


def build():
    return vision_model("resnet18")


def shapes():
    return other_shapes("resnet18")
