"""HuBERT: HubertModel from a tiny HubertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, tiny_model

CASE = case_of("hubert")


def build():
    return tiny_model("hubert")
