"""Whisper: WhisperForConditionalGeneration from a tiny WhisperConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("whisper")


def build():
    return tiny_model("whisper")
