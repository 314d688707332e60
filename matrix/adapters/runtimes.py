"""The runtimes a cell runs on: onnxruntime (CPU, CUDA), Caffe2 (torch 1.x wheels), onnx's reference evaluator.

``source()`` writes ``load_model(path) -> session`` and ``run_model(session, arrays) -> outputs``;
the worker compiles and calls exactly that, and the row keeps it for the reproduction.
"""
from __future__ import annotations

import inspect
import json
import os
from typing import Any, Dict, Optional, Sequence

from matrix.adapters import runtime


def node_share(events: Sequence[Dict[str, Any]], provider: str) -> Optional[float]:
    """Share of distinct nodes an onnxruntime profile shows on ``provider`` (None if it names none).

    Node events are {"cat": "Node", "name": "<node>_kernel_time", "args": {"provider": ...}};
    older onnxruntime releases leave the provider out.
    """
    placed: Dict[str, str] = {}
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") == "Node" and "provider" in args and str(event.get("name", "")).endswith("_kernel_time"):
            placed[event["name"]] = args["provider"]
    if not placed:
        return None
    return sum(1 for p in placed.values() if p == provider) / float(len(placed))


_ARITY_CHECK = """\
    if len(names) != len(arrays):
        raise RuntimeError("the model takes %d inputs (%s), the case gives %d" % (len(names), ", ".join(names), len(arrays)))
"""


class Runtime(object):
    name = ""      # what --runtimes says
    runtime = ""   # the row's runtime field
    provider = ""  # the row's provider field

    def probe(self) -> Dict[str, Any]:
        """In the worker: whether this runtime is here, and its version (JSON-ready)."""
        raise NotImplementedError

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        """Why this runtime cannot run cells here (the cells are skip), or None."""
        return caps.get("missing")

    def source(self, caps: Dict[str, Any]) -> str:
        raise NotImplementedError

    def placement(self, path: str, arrays: Sequence[Any], scratch: str) -> Optional[float]:
        """Share of the executed nodes assigned to this cell's provider, where the runtime can tell."""
        return None


class OnnxRuntime(Runtime):
    runtime = "onnxruntime"

    def probe(self) -> Dict[str, Any]:
        try:
            import onnxruntime
        except ImportError as exc:
            return {"missing": "onnxruntime is not installed in this environment (%s)" % exc}
        try:
            accepts = "providers" in inspect.signature(onnxruntime.InferenceSession.__init__).parameters
        except (TypeError, ValueError):
            accepts = True
        return {"version": onnxruntime.__version__, "providers": list(onnxruntime.get_available_providers()),
                "providers_argument": accepts}

    def unavailable(self, caps):
        if caps.get("missing"):
            return caps["missing"]
        if self.provider not in caps["providers"]:
            return "onnxruntime %s here offers %s, not %s" % (caps["version"], ", ".join(caps["providers"]),
                                                               self.provider)
        return None

    def source(self, caps):
        # onnxruntime < 1.3 takes no providers argument (CPU builds only)
        providers = ", providers=[%r]" % self.provider if caps.get("providers_argument") else ""
        return ("import onnxruntime\n\n\n"
                "def load_model(path):\n"
                "    options = onnxruntime.SessionOptions()\n"
                "    options.log_severity_level = 3\n"
                "    return onnxruntime.InferenceSession(path, options%s)\n\n\n"
                "def run_model(session, arrays):\n"
                "    names = [i.name for i in session.get_inputs()]\n"
                "%s"
                "    return session.run(None, dict(zip(names, arrays)))\n") % (providers, _ARITY_CHECK)

    def placement(self, path, arrays, scratch):
        """Run once with onnxruntime's profiler on and read which provider ran each node.

        A measurement, not a verdict: where the profiler cannot say (old releases), None.
        """
        try:
            return self._profiled_share(path, arrays, scratch)
        except Exception:
            return None

    def _profiled_share(self, path: str, arrays: Sequence[Any], scratch: str) -> Optional[float]:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.enable_profiling = True
        if not os.path.isdir(scratch):
            os.makedirs(scratch)
        options.profile_file_prefix = os.path.join(scratch, "profile")
        try:
            session = onnxruntime.InferenceSession(path, options, providers=[self.provider])
        except TypeError:
            session = onnxruntime.InferenceSession(path, options)
        names = [i.name for i in session.get_inputs()]
        session.run(None, dict(zip(names, arrays)))
        profile = session.end_profiling()
        try:
            with open(profile) as handle:
                events = json.load(handle)
        finally:
            os.remove(profile)
        return node_share(events, self.provider)


@runtime
class OrtCpu(OnnxRuntime):
    name = "ort-cpu"
    provider = "CPUExecutionProvider"


@runtime
class OrtCuda(OnnxRuntime):
    name = "ort-cuda"
    provider = "CUDAExecutionProvider"

    def unavailable(self, caps):
        if caps.get("missing"):
            return caps["missing"]
        if self.provider not in caps["providers"]:
            return "this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)"
        if not caps.get("gpu"):
            return "no GPU on this host"
        return None

    def probe(self):
        caps = super().probe()
        from matrix.worker.environment import gpu_name
        caps["gpu"] = gpu_name()
        return caps

    def source(self, caps):
        # onnxruntime falls back to the CPU silently: a CUDA cell that ran there would be a lie
        check = ("    session = onnxruntime.InferenceSession(path, options, providers=[%r])\n"
                 "    if session.get_providers()[0] != %r:\n"
                 "        raise RuntimeError('onnxruntime placed the session on %%s, not %s' %% session.get_providers())\n"
                 "    return session\n") % (self.provider, self.provider, self.provider)
        code = super().source(caps)
        return code.replace("    return onnxruntime.InferenceSession(path, options, providers=[%r])\n" % self.provider, check)


@runtime
class Caffe2(Runtime):
    name = "caffe2"
    runtime = "caffe2"
    provider = "CPU"

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


@runtime
class Reference(Runtime):
    """onnx's own reference evaluator: slow, but the spec's reading of the file."""

    name = "reference"
    runtime = "reference"
    provider = "onnx.reference"

    def probe(self):
        import onnx
        try:
            import onnx.reference  # noqa: F401
        except ImportError:
            return {"missing": "onnx.reference needs onnx >= 1.13 (this is %s)" % onnx.__version__}
        return {"version": onnx.__version__}

    def source(self, caps):
        return ("import numpy\n"
                "import onnx\n"
                "from onnx.reference import ReferenceEvaluator\n\n\n"
                "def load_model(path):\n"
                "    model = onnx.load(path)\n"
                "    initializers = {i.name for i in model.graph.initializer}\n"
                "    return ReferenceEvaluator(model), [i.name for i in model.graph.input if i.name not in initializers]\n\n\n"
                "def run_model(session, arrays):\n"
                "    evaluator, names = session\n"
                "%s"
                "    return [numpy.asarray(x) for x in evaluator.run(None, dict(zip(names, arrays)))]\n") % _ARITY_CHECK
