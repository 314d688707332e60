"""ViT: ViTModel from a tiny ViTConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("vit")


def build():
    return tiny_model("vit")


def shapes():
    return other_shapes("vit")
