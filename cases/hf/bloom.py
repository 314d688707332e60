"""BLOOM: BloomForCausalLM from a tiny BloomConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("bloom")


def build():
    return tiny_model("bloom")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("bloom", kv_cache=True)
