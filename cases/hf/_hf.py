"""transformers models from tiny configs, built offline with random weights: the table and the one builder.

Each case module of this folder names one entry of ``ARCHS``; ``tiny_model`` makes its config in code
(``XConfig(num_hidden_layers=2, hidden_size=32, ...)``), the model from it (``XModel(config)``, never
``from_pretrained``: no hub, no download; the host sets HF_HUB_OFFLINE=1 for these workers), in eval mode
from the worker's fixed seed, and wraps it so both exporters get plain tensors (``logits``,
``last_hidden_state``), not ModelOutput objects. A decoder's ``kv_cache`` variant runs a prompt first and feeds
its cache back as tensors (``past_key_values``, ``use_cache=True``), as a generation step does.

transformers is not in the environments' pins: it lies beside them (matrix/envs/models.py) and only this
folder sees it (its ``_requires.txt``). Where it is missing, or older than the architecture, a cell is a skip
that says so. Python 3.7 syntax: torch 1.4's environment runs it.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Tuple

from matrix.wire import Case
from matrix.wire.contract import CaseSkip

TEXT = {"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 64}
TOKENS = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
DECODER = dict(TEXT, num_key_value_heads=2, **TOKENS)
VIT = {"image_size": 32, "patch_size": 8, "num_channels": 3, "hidden_size": 32, "num_hidden_layers": 2,
       "num_attention_heads": 4, "intermediate_size": 37}
AUDIO = {"vocab_size": 32, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 37, "conv_dim": [16, 16, 16], "conv_stride": [4, 4, 4], "conv_kernel": [8, 8, 8],
         "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}
SEQ2SEQ = {"vocab_size": 128, "d_model": 32, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
           "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64, "max_position_embeddings": 64,
           "decoder_start_token_id": 2, "forced_eos_token_id": None, **TOKENS}

# id: (family, title, config class, model class, the transformers release that added it, config, inputs, output)
ARCHS = {
    "bert": ("encoder", "BERT", "BertConfig", "BertModel", "4.0", TEXT, "text", "last_hidden_state"),
    "roberta": ("encoder", "RoBERTa", "RobertaConfig", "RobertaModel", "4.0", dict(TEXT, pad_token_id=1), "text",
                "last_hidden_state"),
    "distilbert": ("encoder", "DistilBERT", "DistilBertConfig", "DistilBertModel", "4.0",
                   {"vocab_size": 128, "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64,
                    "max_position_embeddings": 64}, "text", "last_hidden_state"),
    "albert": ("encoder", "ALBERT", "AlbertConfig", "AlbertModel", "4.0", dict(TEXT, embedding_size=16), "text",
               "last_hidden_state"),
    "electra": ("encoder", "ELECTRA", "ElectraConfig", "ElectraModel", "4.0", dict(TEXT, embedding_size=16), "text",
                "last_hidden_state"),
    "deberta_v2": ("encoder", "DeBERTa-v2", "DebertaV2Config", "DebertaV2Model", "4.0",
                   dict(TEXT, relative_attention=True, pos_att_type=["p2c", "c2p"], position_buckets=16), "text",
                   "last_hidden_state"),
    "xlm_roberta": ("encoder", "XLM-RoBERTa", "XLMRobertaConfig", "XLMRobertaModel", "4.0",
                    dict(TEXT, pad_token_id=1), "text", "last_hidden_state"),
    "mpnet": ("encoder", "MPNet", "MPNetConfig", "MPNetModel", "4.0", dict(TEXT, pad_token_id=1), "text",
              "last_hidden_state"),
    "modernbert": ("encoder", "ModernBERT", "ModernBertConfig", "ModernBertModel", "4.48",
                   dict(TEXT, pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2,
                        global_attn_every_n_layers=2, local_attention=8), "text", "last_hidden_state"),
    "gpt2": ("decoder", "GPT-2", "GPT2Config", "GPT2LMHeadModel", "4.0",
             dict({"vocab_size": 128, "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 64}, **TOKENS),
             "text", "logits"),
    "gpt_neo": ("decoder", "GPT-Neo", "GPTNeoConfig", "GPTNeoForCausalLM", "4.0",
                dict({"vocab_size": 128, "hidden_size": 32, "num_layers": 2, "num_heads": 4,
                      "attention_types": [[["global", "local"], 1]], "window_size": 8,
                      "max_position_embeddings": 64}, **TOKENS), "text", "logits"),
    "gpt_neox": ("decoder", "GPT-NeoX", "GPTNeoXConfig", "GPTNeoXForCausalLM", "4.18", dict(TEXT, **TOKENS), "text",
                 "logits"),
    "gptj": ("decoder", "GPT-J", "GPTJConfig", "GPTJForCausalLM", "4.7",
             dict({"vocab_size": 128, "n_embd": 32, "n_layer": 2, "n_head": 4, "rotary_dim": 4, "n_positions": 64},
                  **TOKENS), "text", "logits"),
    "codegen": ("decoder", "CodeGen", "CodeGenConfig", "CodeGenForCausalLM", "4.15",
                dict({"vocab_size": 128, "n_embd": 32, "n_layer": 2, "n_head": 4, "rotary_dim": 4, "n_positions": 64,
                      "n_ctx": 64}, **TOKENS), "text", "logits"),
    "opt": ("decoder", "OPT", "OPTConfig", "OPTForCausalLM", "4.19",
            dict({"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
                  "ffn_dim": 64, "max_position_embeddings": 64, "word_embed_proj_dim": 32}, **TOKENS), "text",
            "logits"),
    "bloom": ("decoder", "BLOOM", "BloomConfig", "BloomForCausalLM", "4.20",
              dict({"vocab_size": 128, "hidden_size": 32, "n_layer": 2, "n_head": 4}, **TOKENS), "text", "logits"),
    "falcon": ("decoder", "Falcon", "FalconConfig", "FalconForCausalLM", "4.33",
               dict({"vocab_size": 128, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4},
                    **TOKENS), "text", "logits"),
    "llama": ("decoder", "LLaMA", "LlamaConfig", "LlamaForCausalLM", "4.28", DECODER, "text", "logits"),
    "mistral": ("decoder", "Mistral", "MistralConfig", "MistralForCausalLM", "4.34", DECODER, "text", "logits"),
    "mixtral": ("decoder", "Mixtral (MoE)", "MixtralConfig", "MixtralForCausalLM", "4.36",
                dict(DECODER, num_local_experts=4, num_experts_per_tok=2), "text", "logits"),
    "qwen2": ("decoder", "Qwen2", "Qwen2Config", "Qwen2ForCausalLM", "4.37", DECODER, "text", "logits"),
    "qwen3": ("decoder", "Qwen3", "Qwen3Config", "Qwen3ForCausalLM", "4.51", dict(DECODER, head_dim=8), "text",
              "logits"),
    "phi": ("decoder", "Phi", "PhiConfig", "PhiForCausalLM", "4.36", dict(DECODER, partial_rotary_factor=0.5),
            "text", "logits"),
    "phi3": ("decoder", "Phi-3", "Phi3Config", "Phi3ForCausalLM", "4.40", DECODER, "text", "logits"),
    "gemma": ("decoder", "Gemma", "GemmaConfig", "GemmaForCausalLM", "4.38", dict(DECODER, head_dim=8), "text",
              "logits"),
    "gemma2": ("decoder", "Gemma 2", "Gemma2Config", "Gemma2ForCausalLM", "4.42",
               dict(DECODER, head_dim=8, query_pre_attn_scalar=8, sliding_window=16), "text", "logits"),
    "starcoder2": ("decoder", "StarCoder2", "Starcoder2Config", "Starcoder2ForCausalLM", "4.39", DECODER, "text",
                   "logits"),
    "t5": ("encoder-decoder", "T5", "T5Config", "T5ForConditionalGeneration", "4.0",
           dict({"vocab_size": 128, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4,
                 "decoder_start_token_id": 0}, **TOKENS), "seq2seq", "logits"),
    "bart": ("encoder-decoder", "BART", "BartConfig", "BartForConditionalGeneration", "4.0", SEQ2SEQ, "seq2seq",
             "logits"),
    "marian": ("encoder-decoder", "Marian", "MarianConfig", "MarianMTModel", "4.0", SEQ2SEQ, "seq2seq", "logits"),
    "whisper": ("encoder-decoder", "Whisper", "WhisperConfig", "WhisperForConditionalGeneration", "4.23",
                dict(SEQ2SEQ, num_mel_bins=16, max_source_positions=16, max_target_positions=32,
                     suppress_tokens=None, begin_suppress_tokens=None), "speech2seq", "logits"),
    "vit": ("vision", "ViT", "ViTConfig", "ViTModel", "4.0", VIT, "image", "last_hidden_state"),
    "deit": ("vision", "DeiT", "DeiTConfig", "DeiTModel", "4.3", VIT, "image", "last_hidden_state"),
    "swin": ("vision", "Swin", "SwinConfig", "SwinModel", "4.12",
             {"image_size": 32, "patch_size": 4, "embed_dim": 16, "depths": [1, 1], "num_heads": [2, 2],
              "window_size": 4}, "image", "last_hidden_state"),
    "convnext": ("vision", "ConvNeXT", "ConvNextConfig", "ConvNextModel", "4.16",
                 {"hidden_sizes": [8, 16, 32, 64], "depths": [1, 1, 1, 1]}, "image", "last_hidden_state"),
    "resnet": ("vision", "ResNet", "ResNetConfig", "ResNetModel", "4.19",
               {"embedding_size": 8, "hidden_sizes": [8, 16, 32, 64], "depths": [1, 1, 1, 1], "layer_type": "basic"},
               "image", "last_hidden_state"),
    "dinov2": ("vision", "DINOv2", "Dinov2Config", "Dinov2Model", "4.32", dict(VIT, mlp_ratio=2), "image",
               "last_hidden_state"),
    "wav2vec2": ("audio", "Wav2Vec2", "Wav2Vec2Config", "Wav2Vec2Model", "4.0", AUDIO, "audio", "last_hidden_state"),
    "hubert": ("audio", "HuBERT", "HubertConfig", "HubertModel", "4.3", AUDIO, "audio", "last_hidden_state"),
    "clip": ("multimodal", "CLIP", "CLIPConfig", "CLIPModel", "4.0", {"projection_dim": 16}, "text+image",
             "logits_per_image"),
    "siglip": ("multimodal", "SigLIP", "SiglipConfig", "SiglipModel", "4.37", {}, "text+image", "logits_per_image"),
}
# the two towers of CLIP-like models, each tiny
TOWERS = {"text_config": dict(TEXT, max_position_embeddings=16, **TOKENS), "vision_config": dict(VIT)}
BATCH, SEQ, PROMPT, TARGET = 2, 8, 6, 4
LAYERS = 2  # every config above: a generation step's cache is a key and a value per layer
# The other input sets every cell runs after the export's (shapes()): another batch, then another length
# (sequence, target, samples, prompt), as a deployed model meets them
OTHER = ({"batch": 3}, {"seq": 13, "target": 7, "samples": 1600, "prompt": 9})

# Dynamic axes as users declare them, per input kind: (forward's parameters with their axes, the output's axes)
TOKENS_AXES = {0: "batch", 1: "seq"}
DYNAMIC = {
    "text": ({"input_ids": TOKENS_AXES, "attention_mask": TOKENS_AXES}, {0: TOKENS_AXES}),
    "seq2seq": ({"input_ids": TOKENS_AXES, "attention_mask": TOKENS_AXES,
                 "decoder_input_ids": {0: "batch", 1: "target"}}, {0: {0: "batch", 1: "target"}}),
    # Whisper takes exactly 2 x max_source_positions mel frames: only the batch and the decoder's length vary
    "speech2seq": ({"input_features": {0: "batch"}, "decoder_input_ids": {0: "batch", 1: "target"}},
                   {0: {0: "batch", 1: "target"}}),
    "image": ({"pixel_values": {0: "batch"}}, {0: {0: "batch"}}),
    "audio": ({"input_values": {0: "batch", 1: "samples"}}, {0: {0: "batch", 1: "frames"}}),
    "text+image": ({"input_ids": TOKENS_AXES, "pixel_values": {0: "batch"}, "attention_mask": TOKENS_AXES},
                   {0: {0: "batch", 1: "batch"}}),
}
# a generation step: one new token (static: torch.export specialises a size of 1), the cache's length dynamic,
# the mask one longer (optimum names it past_sequence_length + 1)
CACHE_AXES = {0: "batch", 2: "past"}
KV_CACHE = {"dynamic": dict({"input_ids": {0: "batch"}, "attention_mask": {0: "batch", 1: "past+1"}},
                            **{"%s_%d" % (part, layer): CACHE_AXES for layer in range(LAYERS)
                               for part in ("key", "value")}),
            "dynamic_outputs": {i: {0: "batch"} if i == 0 else {0: "batch", 2: "past+1"} for i in range(1 + 2 * LAYERS)}}


def case_of(arch: str) -> Case:
    family, title, _, model, since, _, kind, output = ARCHS[arch]
    dynamic, dynamic_outputs = DYNAMIC[kind]
    return Case(title="%s (%s)" % (title, model), corpus="models",
                pitfall="Does a tiny %s (transformers %s, random weights) export with dynamic axes, run at another "
                        "batch and length and agree with eager PyTorch (its %s)?" % (model, family, output),
                links=["https://huggingface.co/docs/transformers/model_doc/%s" % arch.replace("_", "-")],
                op={"family": family, "architecture": title, "model_class": model, "source": "transformers",
                    "since": since}, atol=1e-4, rtol=1e-3, dynamic=dynamic, dynamic_outputs=dynamic_outputs,
                variant_dynamic={"kv_cache": KV_CACHE} if family == "decoder" else None)


def _site() -> Dict[str, Any]:
    """What matrix/envs/models.py installed beside this environment (its marker, on the worker's path)."""
    for folder in sys.path:
        try:
            with open(os.path.join(folder, ".matrix-models.json")) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            continue
    return {}


def _transformers(model_class: str, since: str) -> Any:
    try:
        import transformers
    except ImportError:
        site = _site()
        raise CaseSkip(site.get("note") or "transformers is not installed beside this environment (no model_pins "
                       "for it in the lineup: python -m matrix lock --models --env ID)")
    if not hasattr(transformers, model_class):
        raise CaseSkip("transformers %s has no %s (added in %s)" % (transformers.__version__, model_class, since))
    return transformers


def _config(transformers: Any, arch: str) -> Any:
    _, _, config_class, _, _, kwargs, inputs, _ = ARCHS[arch]
    kwargs = dict(kwargs)
    if inputs == "text+image":
        kwargs.update(TOWERS)
    return getattr(transformers, config_class)(**kwargs)


def _inputs(kind: str, config: Any, batch: int = BATCH, seq: int = SEQ, target: int = TARGET,
            samples: int = 1024, **_: Any) -> List[Any]:
    import torch
    ids = lambda length: torch.randint(3, 100, (batch, length), dtype=torch.long)
    ones = lambda length: torch.ones(batch, length, dtype=torch.long)
    pixels = torch.randn(batch, 3, 32, 32)
    if kind == "text":
        return [ids(seq), ones(seq)]
    if kind == "seq2seq":
        return [ids(seq), ones(seq), ids(target)]
    if kind == "speech2seq":
        return [torch.randn(batch, config.num_mel_bins, 2 * config.max_source_positions), ids(target)]
    if kind == "image":
        return [pixels]
    if kind == "audio":
        return [torch.randn(batch, samples)]
    return [ids(seq), pixels, ones(seq)]  # text+image


def _module_classes():
    import torch

    class Plain(torch.nn.Module):
        """The model's forward by keyword, its output as the one tensor users read (no ModelOutput). Each kind
        names its inputs as forward's parameters: torch.export matches dynamic_shapes to them, not to *args."""

        def __init__(self, model: Any, output: str) -> None:
            super(Plain, self).__init__()
            self.model, self.output = model, output

        def run(self, **inputs: Any) -> Any:
            return getattr(self.model(return_dict=True, **inputs), self.output)

    class Text(Plain):
        def forward(self, input_ids, attention_mask):
            return self.run(input_ids=input_ids, attention_mask=attention_mask)

    class Seq2Seq(Plain):
        def forward(self, input_ids, attention_mask, decoder_input_ids):
            return self.run(input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids)

    class Speech2Seq(Plain):
        def forward(self, input_features, decoder_input_ids):
            return self.run(input_features=input_features, decoder_input_ids=decoder_input_ids)

    class Image(Plain):
        def forward(self, pixel_values):
            return self.run(pixel_values=pixel_values)

    class Audio(Plain):
        def forward(self, input_values):
            return self.run(input_values=input_values)

    class TextImage(Plain):
        def forward(self, input_ids, pixel_values, attention_mask):
            return self.run(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask)

    return {"text": Text, "seq2seq": Seq2Seq, "speech2seq": Speech2Seq, "image": Image, "audio": Audio,
            "text+image": TextImage}


def _model(arch: str) -> Tuple[Any, Any, Any]:
    """(transformers, config, the model in eval mode) for ``ARCHS[arch]``, random weights."""
    _, _, _, model_class, since, _, _, _ = ARCHS[arch]
    transformers = _transformers(model_class, since)
    config = _config(transformers, arch)
    return transformers, config, getattr(transformers, model_class)(config).eval()


def tiny_model(arch: str, kv_cache: bool = False) -> Tuple[Any, List[Any]]:
    """(module returning plain tensors, its example inputs) for ``ARCHS[arch]``, random weights, eval mode."""
    kind, output = ARCHS[arch][6], ARCHS[arch][7]
    transformers, config, model = _model(arch)
    if kv_cache:
        return _with_cache(transformers, model)
    return _module_classes()[kind](model, output).eval(), _inputs(kind, config)


def other_shapes(arch: str) -> List[List[Any]]:
    """The case's other input sets (its module's shapes()): another batch, then another length."""
    transformers = _transformers(ARCHS[arch][3], ARCHS[arch][4])
    config = _config(transformers, arch)
    found, seen = [], [_shapes(_inputs(ARCHS[arch][6], config))]
    for other in OTHER:  # an image's input has no length: its second set would be the example's shapes again
        inputs = _inputs(ARCHS[arch][6], config, **other)
        if _shapes(inputs) not in seen:
            found.append(inputs)
            seen.append(_shapes(inputs))
    return found


def _shapes(inputs: List[Any]) -> List[Tuple[int, ...]]:
    return [tuple(t.shape) for t in inputs]


def cache_shapes(arch: str) -> List[List[Any]]:
    """A generation step's other input sets (shapes_kv_cache()): another batch, then a longer prompt's cache.
    The cache comes from running a model of the same config on that prompt: any cache of the right shape is
    a valid input, and eager PyTorch is compared with the file on it."""
    _, _, model = _model(arch)
    return [_step_inputs(model, other.get("batch", BATCH), other.get("prompt", PROMPT)) for other in OTHER]


def _cache_keyword(model: Any) -> str:
    """transformers 5.x renamed ``past_key_values`` to ``cache`` in some releases (the old name warns)."""
    import inspect
    names = inspect.signature(model.forward).parameters
    return "past_key_values" if "past_key_values" in names else "cache"


def _flatten(cache: Any) -> List[Any]:
    """A model's returned cache as tensors (key, value per layer): legacy tuples, 4.x caches, 5.x layers."""
    if isinstance(cache, (tuple, list)):
        return [t for layer in cache for t in layer]
    if hasattr(cache, "layers"):
        return [t for layer in cache.layers for t in (layer.keys, layer.values)]
    if hasattr(cache, "to_legacy_cache"):
        return [t for layer in cache.to_legacy_cache() for t in layer]
    raise CaseSkip("this transformers returns a cache of type %s, which the case cannot flatten" % type(cache).__name__)


def _step_inputs(model: Any, batch: int, prompt: int) -> List[Any]:
    """A generation step's inputs: one new token, the mask over the prompt and it, the prompt's cache."""
    import torch
    ids = torch.randint(3, 100, (batch, prompt), dtype=torch.long)
    with torch.no_grad():
        first = model(input_ids=ids, use_cache=True, return_dict=True)
    past = _flatten(getattr(first, "past_key_values", None) or getattr(first, "cache", None))
    if len(past) != 2 * LAYERS:
        raise ValueError("the prompt's cache is %d tensors, not a key and a value for each of %d layers"
                         % (len(past), LAYERS))
    token = torch.randint(3, 100, (batch, 1), dtype=torch.long)
    return [token, torch.ones(batch, prompt + 1, dtype=torch.long)] + past


def _with_cache(transformers: Any, model: Any) -> Tuple[Any, List[Any]]:
    """A generation step: the prompt's cache (computed here in eager) fed back as tensors with one new token."""
    import torch
    keyword = _cache_keyword(model)
    inputs = _step_inputs(model, BATCH, PROMPT)
    # a model that takes cache objects gets a DynamicCache, one that does not (before 4.36; GPT-2 and kin until
    # later, ``_supports_cache_class = False``) tuples; releases where every model takes them dropped the flag
    objects = hasattr(transformers, "DynamicCache") and getattr(model, "_supports_cache_class", True)

    class Step(torch.nn.Module):
        """Each cache tensor a parameter of its own (as optimum's past_key_values.N.key inputs): torch.export
        matches dynamic_shapes to named parameters, not to *args."""

        def __init__(self) -> None:
            super(Step, self).__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, key_0, value_0, key_1, value_1):
            pairs = [(key_0, value_0), (key_1, value_1)]
            if objects:
                cache = transformers.DynamicCache()
                for layer, (key, value) in enumerate(pairs):
                    cache.update(key, value, layer)
            else:
                cache = tuple(pairs)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=True, return_dict=True,
                             **{keyword: cache})
            present = getattr(out, "past_key_values", None) or getattr(out, "cache", None)
            return tuple([out.logits] + _flatten(present))

    return Step().eval(), inputs
