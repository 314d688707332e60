"""Whether the lineup's GPU variants are built: --gpu / --no-gpu, else whether this host has an NVIDIA GPU."""
from __future__ import annotations

from matrix.wire.gpu import gpu_name


def gpu_mode(flag: bool | None) -> bool:
    """--gpu / --no-gpu, else whether this host has an NVIDIA GPU."""
    return flag if flag is not None else gpu_name() is not None
