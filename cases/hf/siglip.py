"""SigLIP: SiglipModel from a tiny SiglipConfig (2 layers, random weights, built offline), its logits_per_image."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("siglip")


def build():
    return tiny_model("siglip")


def shapes():
    return other_shapes("siglip")
