"""DeiT: DeiTModel from a tiny DeiTConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("deit")


def build():
    return tiny_model("deit")


def shapes():
    return other_shapes("deit")
