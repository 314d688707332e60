"""DeBERTa-v2: DebertaV2Model from a tiny DebertaV2Config (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("deberta_v2")


def build():
    return tiny_model("deberta_v2")


def shapes():
    return other_shapes("deberta_v2")
