"""CLIP: CLIPModel from a tiny CLIPConfig (2 layers, random weights, built offline), its logits_per_image."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("clip")


def build():
    return tiny_model("clip")


def shapes():
    return other_shapes("clip")
