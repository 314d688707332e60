"""Whisper: WhisperForConditionalGeneration from a tiny WhisperConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("whisper")


def build():
    return tiny_model("whisper")


def shapes():
    return other_shapes("whisper")
