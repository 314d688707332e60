"""Phi-3: Phi3ForCausalLM from a tiny Phi3Config (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("phi3")


def build():
    return tiny_model("phi3")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("phi3", kv_cache=True)
