"""GPT-J: GPTJForCausalLM from a tiny GPTJConfig (2 layers, random weights, built offline), its logits."""
from ._hf import cache_shapes, case_of, other_shapes, tiny_model

CASE = case_of("gptj")


def build():
    return tiny_model("gptj")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("gptj", kv_cache=True)


def shapes():
    return other_shapes("gptj")


def shapes_kv_cache():
    return cache_shapes("gptj")
