"""ALBERT: AlbertModel from a tiny AlbertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("albert")


def build():
    return tiny_model("albert")


def shapes():
    return other_shapes("albert")
