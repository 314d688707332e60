"""ShuffleNetV2 x0.5: torchvision.models.shufflenet_v2_x0_5 (weights=None, random weights), its logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("shufflenet_v2_x0_5")


def build():
    return vision_model("shufflenet_v2_x0_5")


def shapes():
    return other_shapes("shufflenet_v2_x0_5")
