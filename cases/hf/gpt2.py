"""GPT-2: GPT2LMHeadModel from a tiny GPT2Config (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("gpt2")


def build():
    return tiny_model("gpt2")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("gpt2", kv_cache=True)
