"""RoBERTa: RobertaModel from a tiny RobertaConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("roberta")


def build():
    return tiny_model("roberta")


def shapes():
    return other_shapes("roberta")
