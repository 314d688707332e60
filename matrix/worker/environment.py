"""What this environment is: exact versions, the host, and what each exporter and runtime adapter finds here.

Import order matters: on torch 1.4, importing torch before onnx makes
``onnx.checker.check_model`` segfault, so onnx always comes first.
"""
from __future__ import annotations

import platform
import subprocess
from typing import Any, Dict, Optional

import onnx  # noqa: F401  (must precede torch, see the module docstring)
import numpy
import torch


def _version(module_name: str) -> Optional[str]:
    try:
        module = __import__(module_name, fromlist=["__version__"])
    except ImportError:
        return None
    return getattr(module, "__version__", None)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_GPU: list = []


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


def versions() -> Dict[str, Optional[str]]:
    """The row's version fields (wire.row.VERSION_FIELDS)."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": _version("onnxruntime"),
        "onnxscript": _version("onnxscript"),
        "numpy": numpy.__version__,
        "protobuf": _version("google.protobuf"),
        "cpu": _cpu_name(),
        "gpu": gpu_name(),
    }


_CAPS: Dict[str, Any] = {}


def capabilities() -> Dict[str, Any]:
    """Each adapter's probe, sent to the host in the hello frame: the host decides the skips from it."""
    if not _CAPS:
        from matrix.adapters import EXPORTERS, RUNTIMES
        _CAPS.update(exporters={name: adapter.probe() for name, adapter in EXPORTERS.items()},
                     runtimes={name: adapter.probe() for name, adapter in RUNTIMES.items()})
    return _CAPS


def onnx_opset(model: Any) -> Optional[int]:
    for item in model.opset_import:
        if item.domain in ("", "ai.onnx"):
            return int(item.version)
    return None
