"""ConvNeXT: ConvNextModel from a tiny ConvNextConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("convnext")


def build():
    return tiny_model("convnext")


def shapes():
    return other_shapes("convnext")
