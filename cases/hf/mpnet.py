"""MPNet: MPNetModel from a tiny MPNetConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("mpnet")


def build():
    return tiny_model("mpnet")


def shapes():
    return other_shapes("mpnet")
