"""BART: BartForConditionalGeneration from a tiny BartConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("bart")


def build():
    return tiny_model("bart")
