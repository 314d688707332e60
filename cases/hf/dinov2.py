"""DINOv2: Dinov2Model from a tiny Dinov2Config (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("dinov2")


def build():
    return tiny_model("dinov2")


def shapes():
    return other_shapes("dinov2")
