"""The runtimes a cell runs on, one module per family: onnxruntime (CPU, CUDA), Caffe2 (torch 1.x wheels),
onnx's reference evaluator, OpenVINO. Importing this package registers them all.

onnxruntime's log and placement readers stay importable from here (``matrix.adapters.runtimes.CUDA``,
``placements``, ``share_of``, ...), as they were when the runtimes were one module.
"""
from __future__ import annotations

from matrix.adapters.runtimes import caffe2, openvino, reference  # noqa: E402,F401  (register in this order)
from matrix.adapters.runtimes.base import ARITY_CHECK, Runtime  # noqa: F401
from matrix.adapters.runtimes.onnxruntime import (  # noqa: F401
    CUDA,
    OnnxRuntime,
    OrtCpu,
    OrtCuda,
    log_complaints,
    native_stderr,
    node_share,
    placements,
    share_of,
)
