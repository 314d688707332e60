"""Marian: MarianMTModel from a tiny MarianConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("marian")


def build():
    return tiny_model("marian")
