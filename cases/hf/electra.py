"""ELECTRA: ElectraModel from a tiny ElectraConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("electra")


def build():
    return tiny_model("electra")


def shapes():
    return other_shapes("electra")
