"""onnxruntime's CPU and CUDA providers, and its own record of where nodes ran (session log, profiler).

The log and placement readers (``placements``, ``share_of``, ``node_share``, ``log_complaints``)
are plain functions: the GPU views and tests read onnxruntime logs with them.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import sys
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence

from matrix.adapters import runtime
from matrix.adapters.runtimes.base import ARITY_CHECK, Runtime

CUDA = "CUDAExecutionProvider"
# Copies onnxruntime inserts between devices: not nodes of the model, so not counted in a share
_TRANSFER_OPS = ("MemcpyFromHost", "MemcpyToHost")


def node_share(events: Sequence[Dict[str, Any]], provider: str) -> Optional[float]:
    """Share of distinct nodes an onnxruntime profile shows on ``provider`` (None if it names none).

    Node events are {"cat": "Node", "name": "<node>_kernel_time", "args": {"provider": ...}};
    older onnxruntime releases leave the provider out.
    """
    placed: Dict[str, str] = {}
    for event in events:
        args = event.get("args") or {}
        if (event.get("cat") == "Node" and "provider" in args and str(event.get("name", "")).endswith("_kernel_time")
                and args.get("op_name") not in _TRANSFER_OPS):
            placed[event["name"]] = args["provider"]
    if not placed:
        return None
    return sum(1 for p in placed.values() if p == provider) / float(len(placed))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# "2026-11-27 14:33:36.862172415 [V:onnxruntime:, session_state.cc:1313 VerifyEachNodeIsAssignedToAnEp] ..."
# (Windows builds write "onnxruntime::VerifyEachNodeIsAssignedToAnEp]")
_PREFIX = re.compile(r"^.*?\[([VIWEF]):onnxruntime:[^\]]*?(\S+)\]\s?(.*)$")
_HEADER = re.compile(r"^\s*(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)")
_NODE = re.compile(r"^\s*(\S+) \((.*)\)\s*$")


def placements(log: str) -> Optional[Dict[str, Dict[str, Any]]]:
    """onnxruntime's own record of node assignment, read from a verbose session log.

    Returns {provider: {"count": N, "nodes": ["OpType (name)", ...]}} as the log states it ("All
    nodes placed on [P]" lists no names), or None where the log has no placement record (a
    release or a minimal build that does not write one). Lines may carry the logger's prefix or
    continue a multi-line message without one.
    """
    found: Dict[str, Dict[str, Any]] = {}
    current: Optional[Dict[str, Any]] = None
    for raw in _ANSI.sub("", log).splitlines():
        prefixed = _PREFIX.match(raw)
        if prefixed:
            if not prefixed.group(2).endswith("VerifyEachNodeIsAssignedToAnEp"):
                current = None
                continue
            text = prefixed.group(3)
        else:
            text = raw
        header = _HEADER.match(text)
        if header:
            current = found.setdefault(header.group(2), {"count": 0, "nodes": []})
            current["count"] += int(header.group(3))
            continue
        node = _NODE.match(text) if current is not None else None
        if node:
            current["nodes"].append("%s (%s)" % (node.group(1), node.group(2)))
        elif not prefixed and text.strip():
            current = None
    return found or None


def share_of(placed: Dict[str, Dict[str, Any]], provider: str) -> Optional[float]:
    """The share of the model's nodes (device copies left out) that ``placed`` puts on ``provider``."""
    def count(entry: Dict[str, Any]) -> int:  # the log's own count; node lines only say which were copies
        return entry["count"] - sum(1 for n in entry["nodes"] if n.split(" ", 1)[0] in _TRANSFER_OPS)
    total = sum(count(e) for e in placed.values())
    if not total:
        return None
    return count(placed.get(provider, {"count": 0, "nodes": []})) / float(total)


def log_complaints(log: str, prefix: str = "") -> List[str]:
    """onnxruntime's warnings and errors in a captured log, without timestamps, colours and source paths."""
    said = []
    for raw in _ANSI.sub("", log).splitlines():
        line = _PREFIX.match(raw)
        if not line or line.group(1) not in "WEF":
            continue
        text = line.group(3).strip()
        # "/onnxruntime_src/.../provider_bridge_ort.cc:2043 ... [ONNXRuntimeError] : 1 : FAIL : Failed to load ..."
        text = re.sub(r"^\S+\.cc:\d+ .*?\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text)
        if prefix:
            text = text.replace(prefix + os.sep, "")
        if text and text not in said:
            said.append(text)
    return said


@contextlib.contextmanager
def native_stderr(scratch: Optional[str] = None) -> Iterator[List[str]]:
    """What native code writes to file descriptor 2 meanwhile (onnxruntime's logger writes there):
    redirected into a file, read back into the yielded list when the block ends."""
    sys.stderr.flush()
    handle, path = tempfile.mkstemp(prefix=".ort-log-", dir=scratch)
    saved = os.dup(2)
    said: List[str] = []
    try:
        os.dup2(handle, 2)
        yield said
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(handle)
        with open(path, errors="replace") as log:
            said.append(log.read())
        os.remove(path)


def _trial_model() -> bytes:
    """A one-node model every onnxruntime since 1.1 loads: a session on it shows where onnxruntime puts sessions."""
    from onnx import TensorProto, helper
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "trial",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    return model.SerializeToString()


class OnnxRuntime(Runtime):
    runtime = "onnxruntime"
    upstream = "microsoft/onnxruntime"
    # onnxruntime-gpu installs the same module under another name; either answers onnxruntime=
    version_keys = {"onnxruntime": ("onnxruntime", "onnxruntime-gpu")}
    modules = ("onnxruntime",)

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

    def session_code(self, caps: Dict[str, Any]) -> str:
        # onnxruntime < 1.3 takes no providers argument (CPU builds only)
        providers = ", providers=[%r]" % self.provider if caps.get("providers_argument") else ""
        return "    return onnxruntime.InferenceSession(path, options%s)\n" % providers

    def source(self, caps):
        return ("import onnxruntime\n\n\n"
                "def load_model(path):\n"
                "    options = onnxruntime.SessionOptions()\n"
                "    options.log_severity_level = 3\n"
                "%s\n\n"
                "def run_model(session, arrays):\n"
                "    names = [i.name for i in session.get_inputs()]\n"
                "%s"
                "    return session.run(None, dict(zip(names, arrays)))\n") % (self.session_code(caps), ARITY_CHECK)

    def placement(self, path, arrays, scratch):
        """onnxruntime's record of which provider each node went to: the verbose session log, or else
        (releases that do not log it) a profiled run. A measurement, not a verdict: None where neither says."""
        if not os.path.isdir(scratch):
            os.makedirs(scratch)
        try:
            placed = self._logged_placements(path, scratch)
        except Exception:
            placed = None
        if placed:
            return {"gpu_node_share": share_of(placed, CUDA), "placement_source": "session log",
                    "cpu_nodes": [n for n in placed.get("CPUExecutionProvider", {}).get("nodes", [])
                                  if n.split(" ", 1)[0] not in _TRANSFER_OPS] or None}
        try:
            share = self._profiled_share(path, arrays, scratch)
        except Exception:
            share = None
        return {"gpu_node_share": share, "placement_source": "profile"} if share is not None else None

    def _logged_placements(self, path: str, scratch: str) -> Optional[Dict[str, Dict[str, Any]]]:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 0  # verbose: the partitioner writes each node's provider
        with native_stderr(scratch) as log:
            onnxruntime.InferenceSession(path, options, providers=[self.provider])
        return placements(log[0])

    def _profiled_share(self, path: str, arrays: Sequence[Any], scratch: str) -> Optional[float]:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.enable_profiling = True
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
    label = "onnxruntime CPU"
    short = "ORT CPU"


@runtime
class OrtCuda(OnnxRuntime):
    """onnxruntime's CUDA provider. onnxruntime falls back to the CPU silently when the provider cannot
    start (no device, CUDA or cuDNN libraries missing, a CPU build): a CUDA cell that ran there would be
    a lie, so the probe opens a trial session and the cells are skip with onnxruntime's own words, and
    every session is checked again when it loads."""

    name = "ort-cuda"
    provider = CUDA
    label = "onnxruntime CUDA"
    short = "ORT CUDA"
    device = True
    host_twin = "ort-cpu"
    skip_exceptions = ("ProviderFallback",)  # raised by session_code below

    def probe(self):
        caps = super().probe()
        if caps.get("missing") or self.provider not in caps["providers"]:
            return caps
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 2
        try:
            with native_stderr() as log:
                if hasattr(onnxruntime, "preload_dlls"):  # >= 1.21: the CUDA libraries pip put beside it
                    try:
                        onnxruntime.preload_dlls()
                    except Exception:
                        pass  # the trial session says what is missing
                session = onnxruntime.InferenceSession(_trial_model(), options, providers=[self.provider])
            caps["session_providers"] = list(session.get_providers())
        except Exception as exc:  # the provider started and then failed: say so in its words
            caps["fallback"] = "%s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0][:500])
            return caps
        if caps["session_providers"][:1] != [self.provider]:
            said = log_complaints(log[0], sys.prefix) or ["no reason in onnxruntime's log"]
            caps["fallback"] = "; ".join(said)[:1500]
        return caps

    def unavailable(self, caps):
        if caps.get("missing"):
            return caps["missing"]
        if self.provider not in caps["providers"]:
            return "this onnxruntime build (%s) has no CUDAExecutionProvider (install onnxruntime-gpu)" % caps["version"]
        if caps.get("fallback"):
            return "onnxruntime %s fell back to the CPU: %s" % (caps["version"], caps["fallback"])
        return None

    def session_code(self, caps):
        return ("    session = onnxruntime.InferenceSession(path, options, providers=[%r])\n"
                "    if session.get_providers()[:1] != [%r]:\n"
                "        raise ProviderFallback('onnxruntime put the session on %%s, not the GPU' %% session.get_providers())\n"
                "    return session\n") % (self.provider, self.provider)

    def source(self, caps):
        code = super().source(caps)
        return code.replace("import onnxruntime\n\n\n", (
            "import onnxruntime\n\n\n"
            "class ProviderFallback(RuntimeError):\n"
            "    \"\"\"onnxruntime ran the session on the CPU: the cell is skip, not a CUDA result.\"\"\"\n\n\n"), 1) + (
            "\n\n" + self.binding_code("cuda"))

    @staticmethod
    def binding_code(device: str) -> str:
        """``bind_model``: the timed call with inputs and outputs on ``device`` (the tests bind on "cpu")."""
        return ("def bind_model(session, arrays):\n"
                "    # inputs copied to the device once and outputs left there: the time is the device's, not the copies'\n"
                "    binding = session.io_binding()\n"
                "    on_device = [onnxruntime.OrtValue.ortvalue_from_numpy(a, %(device)r, 0) for a in arrays]\n"
                "    for meta, value in zip(session.get_inputs(), on_device):\n"
                "        binding.bind_ortvalue_input(meta.name, value)\n"
                "    for meta in session.get_outputs():\n"
                "        binding.bind_output(meta.name, %(device)r)\n\n"
                "    def call():\n"
                "        session.run_with_iobinding(binding)\n"
                "        binding.synchronize_outputs()  # the device has finished, not only queued\n"
                "        return binding\n"
                "    return call\n") % {"device": device}
