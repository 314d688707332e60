"""Phi: PhiForCausalLM from a tiny PhiConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("phi")


def build():
    return tiny_model("phi")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("phi", kv_cache=True)
