"""What this environment is: exact versions, the host, and what each exporter and runtime adapter finds here.

Import order matters: on torch 1.4, importing torch before onnx makes
``onnx.checker.check_model`` segfault, so onnx always comes first.
"""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, Dict, Optional

import numpy
import onnx  # noqa: F401  (must precede torch, see the module docstring)
import torch

from matrix.wire.gpu import gpu_name


def _version(distribution: str) -> Optional[str]:
    """An installed distribution's version, read from its metadata: importing onnxscript to ask costs a second."""
    try:
        from importlib import metadata  # Python >= 3.8
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None
    except ImportError:  # Python 3.7: the dist-info folder's name says it
        prefix = distribution.replace("-", "_").lower() + "-"
        for folder in sys.path:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name.lower().startswith(prefix) and name.endswith((".dist-info", ".egg-info")):
                    return name[len(prefix):].rsplit(".", 1)[0].split("-")[0]
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _runtime_version() -> Optional[str]:
    """onnxruntime's own idea of its version (onnxruntime-gpu installs the same module)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


def versions() -> Dict[str, Optional[str]]:
    """The row's version fields (wire.row.VERSION_FIELDS)."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": _runtime_version(),
        "onnxscript": _version("onnxscript"),
        "openvino": _version("openvino"),
        "numpy": numpy.__version__,
        "protobuf": _version("protobuf"),
        "cpu": _cpu_name(),
        "gpu": gpu_name(),
    }


def runtime_versions() -> Dict[str, Optional[str]]:
    """The value of every version key the runtime adapters declare (onnxruntime=, onnx=, openvino=): the
    installed version of its first distribution present here, read from metadata (no runtime imported)."""
    from matrix.adapters import key_distributions
    found: Dict[str, Optional[str]] = {}
    for key, distributions in key_distributions().items():
        found[key] = next((v for v in (_version(d) for d in distributions) if v), None)
    return found


_CAPS: Dict[str, Any] = {}


def capabilities(planned: Optional[list] = None) -> Dict[str, Any]:
    """Each planned adapter's probe, sent to the host in the hello frame: the host decides the skips from it;
    and ``version_keys``, what rows record as ``runtime_versions``.

    Only planned adapters are probed (probing imports: onnx.reference, Caffe2's backend); the others
    say so, and no cell asks for them.
    """
    if not _CAPS:
        from matrix.adapters import EXPORTERS, RUNTIMES
        wanted = set(planned) if planned else set(EXPORTERS) | set(RUNTIMES)
        skip = {"missing": "not probed: no cell of this run asks for it"}
        _CAPS.update(exporters={n: a.probe() if n in wanted else dict(skip) for n, a in EXPORTERS.items()},
                     runtimes={n: a.probe() if n in wanted else dict(skip) for n, a in RUNTIMES.items()},
                     version_keys=runtime_versions())
    return _CAPS
