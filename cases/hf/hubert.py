"""HuBERT: HubertModel from a tiny HubertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("hubert")


def build():
    return tiny_model("hubert")


def shapes():
    return other_shapes("hubert")
