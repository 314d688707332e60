"""ViT (VisionTransformer, 2 layers): torchvision.models.VisionTransformer (from its class, small, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("vit_tiny")


def build():
    return vision_model("vit_tiny")


def shapes():
    return other_shapes("vit_tiny")
