"""A 2-layer nn.TransformerEncoder in eval mode: what `python -m matrix check` is for.

    python -m matrix check examples/transformer_encoder.py --env torch-1.4.0 --env torch-2.13.0

Written for every torch of the lineup (1.4 has no batch_first, so the input is (sequence, batch, features)).
"""
import torch


def build():
    layer = torch.nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.1)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=2).eval()
    tokens = torch.rand(5, 2, 16)  # 5 positions, a batch of 2, 16 features
    return encoder, (tokens,)
