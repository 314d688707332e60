"""GPT-NeoX: GPTNeoXForCausalLM from a tiny GPTNeoXConfig (2 layers, random weights, built offline), its logits."""
from ._hf import cache_shapes, case_of, other_shapes, tiny_model

CASE = case_of("gpt_neox")


def build():
    return tiny_model("gpt_neox")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("gpt_neox", kv_cache=True)


def shapes():
    return other_shapes("gpt_neox")


def shapes_kv_cache():
    return cache_shapes("gpt_neox")
