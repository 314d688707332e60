"""ConvNeXt-Tiny: torchvision.models.convnext_tiny (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("convnext_tiny")


def build():
    return vision_model("convnext_tiny")


def shapes():
    return other_shapes("convnext_tiny")
