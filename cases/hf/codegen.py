"""CodeGen: CodeGenForCausalLM from a tiny CodeGenConfig (2 layers, random weights, built offline), its logits."""
from ._hf import case_of, tiny_model

CASE = case_of("codegen")


def build():
    return tiny_model("codegen")


def build_kv_cache():
    """One generation step: the prompt's past_key_values fed back as tensors, use_cache=True."""
    return tiny_model("codegen", kv_cache=True)
