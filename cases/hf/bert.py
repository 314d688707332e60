"""BERT: BertModel from a tiny BertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("bert")


def build():
    return tiny_model("bert")


def shapes():
    return other_shapes("bert")
