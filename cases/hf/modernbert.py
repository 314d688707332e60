"""ModernBERT: ModernBertModel from a tiny ModernBertConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("modernbert")


def build():
    return tiny_model("modernbert")


def shapes():
    return other_shapes("modernbert")
