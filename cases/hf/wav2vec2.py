"""Wav2Vec2: Wav2Vec2Model from a tiny Wav2Vec2Config (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("wav2vec2")


def build():
    return tiny_model("wav2vec2")


def shapes():
    return other_shapes("wav2vec2")
