"""DeepLabV3 (MobileNetV3-Large): torchvision.models.deeplabv3_mobilenet_v3_large (weights=None, random weights), its per-pixel logits."""
from ._vision import case_of, other_shapes, vision_model

CASE = case_of("deeplabv3_mobilenet_v3_large")


def build():
    return vision_model("deeplabv3_mobilenet_v3_large")


def shapes():
    return other_shapes("deeplabv3_mobilenet_v3_large")
