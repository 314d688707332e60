"""GPT-Neo: GPTNeoForCausalLM from a tiny GPTNeoConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("gpt_neo")


def build():
    return tiny_model("gpt_neo")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("gpt_neo", kv_cache=True)
