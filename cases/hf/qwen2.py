"""Qwen2: Qwen2ForCausalLM from a tiny Qwen2Config (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("qwen2")


def build():
    return tiny_model("qwen2")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("qwen2", kv_cache=True)
