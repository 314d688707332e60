"""XLM-RoBERTa: XLMRobertaModel from a tiny XLMRobertaConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, tiny_model

CASE = case_of("xlm_roberta")


def build():
    return tiny_model("xlm_roberta")
