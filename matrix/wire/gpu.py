"""Whether this machine has an NVIDIA GPU, asked the same way by the host (--gpu's default) and the worker
(the rows' ``gpu`` field)."""
from __future__ import annotations

import subprocess
from typing import List, Optional

_GPU: List[Optional[str]] = []


def gpu_name() -> Optional[str]:
    """The first NVIDIA GPU's name, or None (asked once: nvidia-smi is slow to answer)."""
    if not _GPU:
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
                                 universal_newlines=True)
            names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
            _GPU.append(names[0] if out.returncode == 0 and names else None)
        except (OSError, subprocess.SubprocessError):
            _GPU.append(None)
    return _GPU[0]
