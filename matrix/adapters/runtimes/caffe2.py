"""Caffe2's ONNX backend, shipped inside torch 1.x wheels (gone from 1.11)."""
from __future__ import annotations

from matrix.adapters import runtime
from matrix.adapters.runtimes.base import Runtime


@runtime
class Caffe2(Runtime):
    name = "caffe2"
    runtime = "caffe2"
    provider = "CPU"
    label = "Caffe2"
    short = "Caffe2"
    upstream = "pytorch/pytorch (caffe2, removed in torch 1.11)"
    modules = ("caffe2.python.onnx.backend",)
    # no version key: Caffe2 is torch's own, so torch= already says which one ran

    def probe(self):
        import torch
        try:
            import caffe2.python.onnx.backend  # noqa: F401
        except Exception as exc:  # ImportError, or a broken build that raises on import
            return {"missing": "no Caffe2 in torch %s (%s)" % (torch.__version__, exc)}
        return {"version": torch.__version__}

    def source(self, caps):
        return ("import numpy\n"
                "import onnx\n"
                "import caffe2.python.onnx.backend as backend\n\n\n"
                "def load_model(path):\n"
                "    return backend.prepare(onnx.load(path), device='CPU')\n\n\n"
                "def run_model(session, arrays):\n"
                "    return [numpy.asarray(x) for x in session.run(list(arrays))]\n")
