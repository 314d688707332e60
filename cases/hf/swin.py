"""Swin: SwinModel from a tiny SwinConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("swin")


def build():
    return tiny_model("swin")


def shapes():
    return other_shapes("swin")
