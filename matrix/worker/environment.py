"""What this environment is: exact versions, the host, and which exporters/runtimes it has.

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

try:
    import onnxruntime
except ImportError:  # an environment may pin no runtime package at all
    onnxruntime = None


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


def gpu_name() -> Optional[str]:
    """The first NVIDIA GPU's name, or None: a CPU-only torch build cannot tell us."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
                             universal_newlines=True)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return names[0] if out.returncode == 0 and names else None


def versions() -> Dict[str, Optional[str]]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__ if onnxruntime is not None else None,
        "numpy": numpy.__version__,
        "protobuf": _version("google.protobuf"),
        "onnxscript": _version("onnxscript"),
        "cpu": _cpu_name(),
        "gpu": gpu_name(),
    }


def torchscript_max_opset() -> int:
    """The highest opset the TorchScript exporter supports without warning."""
    try:
        from torch.onnx import _constants
        for name in ("ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", "ONNX_MAX_OPSET"):
            if hasattr(_constants, name):
                return int(getattr(_constants, name))
    except ImportError:
        pass
    from torch.onnx import symbolic_helper  # torch 1.x
    return int(max(symbolic_helper._onnx_stable_opsets))


def has_caffe2() -> Optional[str]:
    """None when Caffe2's ONNX backend imports, else why not."""
    try:
        import caffe2.python.onnx.backend  # noqa: F401
    except Exception as exc:  # ImportError, or a broken build that raises on import
        return "no Caffe2 in torch %s (%s)" % (torch.__version__, exc)
    return None


def capabilities() -> Dict[str, Any]:
    """Facts the pipeline uses to mark cells ``skip``; sent to the host in the hello frame."""
    from matrix.worker import exporters
    return {
        "torchscript_max_opset": torchscript_max_opset(),
        "dynamo": exporters.dynamo_api(),
        "ort_providers": list(onnxruntime.get_available_providers()) if onnxruntime is not None else [],
        "caffe2": has_caffe2(),
        "gpu": gpu_name(),
        "onnx_reference": _has_reference(),
    }


def _has_reference() -> bool:
    try:
        import onnx.reference  # noqa: F401
    except ImportError:
        return False
    return True


def onnx_opset(model: Any) -> Optional[int]:
    for item in model.opset_import:
        if item.domain in ("", "ai.onnx"):
            return int(item.version)
    return None

