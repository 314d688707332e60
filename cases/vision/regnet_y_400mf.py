"""RegNetY-400MF: torchvision.models.regnet_y_400mf (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("regnet_y_400mf")


def build():
    return vision_model("regnet_y_400mf")


def shapes():
    return other_shapes("regnet_y_400mf")
