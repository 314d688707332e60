"""Runtime adapters: load an exported file and run it on numpy arrays.

Each adapter answers ``unavailable()`` with a reason (the cell becomes ``skip``) or None,
then ``load(path)`` -> session and ``run(session, arrays)`` -> list of arrays.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy


def node_share(events: Sequence[Dict[str, Any]], provider: str) -> Optional[float]:
    """Share of distinct nodes an onnxruntime profile shows on ``provider`` (None if it names none).

    Node events are {"cat": "Node", "name": "<node>_kernel_time", "args": {"provider": ...}};
    older onnxruntime releases leave the provider out.
    """
    placed = {}  # type: Dict[str, str]
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") == "Node" and "provider" in args and str(event.get("name", "")).endswith("_kernel_time"):
            placed[event["name"]] = args["provider"]
    if not placed:
        return None
    return sum(1 for p in placed.values() if p == provider) / float(len(placed))


class Runtime(object):
    name = ""
    provider = ""

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        raise NotImplementedError

    def load(self, path: str) -> Any:
        raise NotImplementedError

    def run(self, session: Any, arrays: Sequence[numpy.ndarray]) -> List[numpy.ndarray]:
        raise NotImplementedError

    def placement(self, path: str, arrays: Sequence[numpy.ndarray], scratch: str) -> Optional[float]:
        """Share of the executed nodes assigned to this cell's provider, where the runtime can tell."""
        return None


class OnnxRuntime(Runtime):
    name = "onnxruntime"

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        providers = caps.get("ort_providers") or []
        if not providers:
            return "onnxruntime is not installed in this environment"
        if self.provider == "CUDAExecutionProvider":
            if not caps.get("gpu"):
                return "no GPU on this host"
            if self.provider not in providers:
                return "this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)"
        elif self.provider not in providers:
            return "onnxruntime here offers %s, not %s" % (", ".join(providers), self.provider)
        return None

    def load(self, path: str) -> Any:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(path, options, providers=[self.provider])
        except TypeError:  # onnxruntime < 1.3 takes no providers argument (CPU builds only)
            session = onnxruntime.InferenceSession(path, options)
        used = session.get_providers()
        if used and used[0] != self.provider:
            raise RuntimeError("onnxruntime fell back to %s instead of %s" % (used[0], self.provider))
        return session

    def placement(self, path: str, arrays: Sequence[numpy.ndarray], scratch: str) -> Optional[float]:
        """Run once with onnxruntime's profiler on and read which provider ran each node.

        A measurement, not a verdict: where the profiler cannot say (old releases), None.
        """
        try:
            return self._profiled_share(path, arrays, scratch)
        except Exception:
            return None

    def _profiled_share(self, path: str, arrays: Sequence[numpy.ndarray], scratch: str) -> Optional[float]:
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
        self.run(session, arrays)
        profile = session.end_profiling()
        try:
            with open(profile) as handle:
                events = json.load(handle)
        finally:
            os.remove(profile)
        return node_share(events, self.provider)

    def run(self, session: Any, arrays: Sequence[numpy.ndarray]) -> List[numpy.ndarray]:
        names = [i.name for i in session.get_inputs()]
        if len(names) != len(arrays):
            raise RuntimeError("the model takes %d inputs (%s), the case gives %d"
                               % (len(names), ", ".join(names), len(arrays)))
        return list(session.run(None, dict(zip(names, arrays))))


class Caffe2(Runtime):
    name = "caffe2"
    provider = "CPU"

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        return caps.get("caffe2")

    def load(self, path: str) -> Any:
        import onnx
        import caffe2.python.onnx.backend as backend
        return backend.prepare(onnx.load(path), device="CPU")

    def run(self, session: Any, arrays: Sequence[numpy.ndarray]) -> List[numpy.ndarray]:
        return [numpy.asarray(x) for x in session.run(list(arrays))]


class Reference(Runtime):
    """onnx's own reference evaluator: slow, but the spec's reading of the file."""

    name = "reference"
    provider = "onnx.reference"

    def unavailable(self, caps: Dict[str, Any]) -> Optional[str]:
        if not caps.get("onnx_reference"):
            return "onnx.reference needs onnx >= 1.13"
        return None

    def load(self, path: str) -> Any:
        import onnx
        from onnx.reference import ReferenceEvaluator
        model = onnx.load(path)
        initializers = {i.name for i in model.graph.initializer}
        names = [i.name for i in model.graph.input if i.name not in initializers]
        return ReferenceEvaluator(model), names

    def run(self, session: Any, arrays: Sequence[numpy.ndarray]) -> List[numpy.ndarray]:
        evaluator, names = session
        return [numpy.asarray(x) for x in evaluator.run(None, dict(zip(names, arrays)))]


def adapter(runtime: str, provider: str) -> Runtime:
    """The adapter for a cell's (runtime, provider) pair, as named in ``schema.RUNTIMES``."""
    if runtime == "onnxruntime":
        return OnnxRuntime(provider)
    if runtime == "caffe2":
        return Caffe2()
    if runtime == "reference":
        return Reference()
    raise ValueError("unknown runtime %r" % runtime)
