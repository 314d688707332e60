"""Swin (SwinTransformer, 2 stages): torchvision.models.SwinTransformer (from its class, small, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("swin_tiny")


def build():
    return vision_model("swin_tiny")


def shapes():
    return other_shapes("swin_tiny")
