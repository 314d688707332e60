"""T5: T5ForConditionalGeneration from a tiny T5Config (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("t5")


def build():
    return tiny_model("t5")


def shapes():
    return other_shapes("t5")
