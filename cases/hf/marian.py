"""Marian: MarianMTModel from a tiny MarianConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("marian")


def build():
    return tiny_model("marian")


def shapes():
    return other_shapes("marian")
