"""Mistral: MistralForCausalLM from a tiny MistralConfig (2 layers, random weights, built offline), its logits."""
from ._hf import cache_shapes, case_of, other_shapes, tiny_model

CASE = case_of("mistral")


def build():
    return tiny_model("mistral")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("mistral", kv_cache=True)


def shapes():
    return other_shapes("mistral")


def shapes_kv_cache():
    return cache_shapes("mistral")
