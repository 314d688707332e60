"""Mixtral (MoE): MixtralForCausalLM from a tiny MixtralConfig (2 layers, random weights, built offline), its logits."""
from ._hf import cache_shapes, case_of, other_shapes, tiny_model

CASE = case_of("mixtral")


def build():
    return tiny_model("mixtral")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("mixtral", kv_cache=True)


def shapes():
    return other_shapes("mixtral")


def shapes_kv_cache():
    return cache_shapes("mixtral")
