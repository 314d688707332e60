"""XLM-RoBERTa: XLMRobertaModel from a tiny XLMRobertaConfig (2 layers, random weights, built offline), its last_hidden_state."""
from ._hf import case_of, other_shapes, tiny_model

CASE = case_of("xlm_roberta")


def build():
    return tiny_model("xlm_roberta")


def shapes():
    return other_shapes("xlm_roberta")
