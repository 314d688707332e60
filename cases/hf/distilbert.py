"""DistilBERT: DistilBertModel from a tiny DistilBertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("distilbert")


def build():
    return tiny_model("distilbert")


def shapes():
    return other_shapes("distilbert")
