"""Input factories shared by the cases (a leading underscore: not a case)."""
from __future__ import annotations

import torch


def randn(*shape: int) -> torch.Tensor:
    """Float32 normal noise; the harness seeds torch before every build()."""
    return torch.randn(*shape, dtype=torch.float32)
