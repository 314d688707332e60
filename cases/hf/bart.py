"""BART: BartForConditionalGeneration from a tiny BartConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("bart")


def build():
    return tiny_model("bart")


def shapes():
    return other_shapes("bart")
