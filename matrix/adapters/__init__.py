"""Exporters and runtimes as small registered adapters: a new runtime is one class in one file.

Each adapter owns its availability check (``probe`` runs in the worker and says what this
environment offers; ``unavailable`` turns that into a skip reason, or None) and the exact
code it runs (``source``), which the row records and the reproduction replays. Modules
here import torch, onnx and the runtimes only inside ``probe`` and the generated code, so
the host can list the adapters and decide skips without importing torch. Python 3.7 syntax.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple, TypeVar

EXPORTERS: Dict[str, object] = {}
RUNTIMES: Dict[str, object] = {}
T = TypeVar("T")


def exporter(cls: T) -> T:
    """Register an exporter adapter under its ``name`` (what --exporters and rows say)."""
    if cls.name in EXPORTERS:
        raise ValueError("exporter %r registered twice" % cls.name)
    EXPORTERS[cls.name] = cls()
    return cls


def runtime(cls: T) -> T:
    """Register a runtime adapter under its ``name`` (what --runtimes says: ort-cpu, caffe2, ...)."""
    if cls.name in RUNTIMES:
        raise ValueError("runtime %r registered twice" % cls.name)
    RUNTIMES[cls.name] = cls()
    return cls


def runtime_for(runtime_name: str, provider: str):
    """The adapter for a row's (runtime, provider) pair."""
    for adapter in RUNTIMES.values():
        if adapter.runtime == runtime_name and adapter.provider == provider:
            return adapter
    raise KeyError("no runtime adapter for %s/%s" % (runtime_name, provider))


def _known(runtime_name: Any, provider: Any) -> Any:
    try:
        return runtime_for(runtime_name, provider)
    except KeyError:  # a row of a runtime this harness no longer has
        return None


def runtime_label(runtime_name: Any, provider: Any) -> str:
    """What views call a row's runtime: "onnxruntime CPU", "reference evaluator", "OpenVINO CPU"."""
    adapter = _known(runtime_name, provider)
    return adapter.label if adapter is not None else "%s %s" % (runtime_name, provider)


def runtime_short(runtime_name: Any, provider: Any) -> str:
    """A narrow column heading for a row's runtime: "ORT CPU", "ORT CUDA", "ref", "OV CPU"."""
    adapter = _known(runtime_name, provider)
    return adapter.short if adapter is not None else "%s/%s" % (runtime_name, provider)


def is_device(runtime_name: Any, provider: Any) -> bool:
    """Whether a row's runtime ran on an accelerator (its rows carry node placement: gpu_node_share)."""
    adapter = _known(runtime_name, provider)
    return bool(adapter is not None and adapter.device)


def device_pairs() -> List[Tuple[Any, Any]]:
    """Each device runtime with its host twin, (device adapter, host adapter): the GPU beside the CPU."""
    return [(a, RUNTIMES[a.host_twin]) for a in RUNTIMES.values() if a.device and a.host_twin in RUNTIMES]


def version_keys() -> Tuple[str, ...]:
    """The runtime-side version keys Expect filters on (onnxruntime=, onnx=, openvino=), each declared by
    the runtime that answers for it; a row's values are in its ``runtime_versions``."""
    keys: Dict[str, None] = {}
    for adapter in RUNTIMES.values():
        keys.update(dict.fromkeys(adapter.version_keys))
    return tuple(keys)


def key_distributions() -> Dict[str, Tuple[str, ...]]:
    """Each version key's distributions (the worker reads their installed versions into the row)."""
    found: Dict[str, Tuple[str, ...]] = {}
    for adapter in RUNTIMES.values():
        for key, distributions in adapter.version_keys.items():
            found[key] = tuple(dict.fromkeys(found.get(key, ()) + tuple(distributions)))
    return found


from matrix.adapters import exporters, runtimes  # noqa: E402,F401  (fill the registries)

DEFAULT_EXPORTERS = tuple(EXPORTERS)
DEFAULT_RUNTIMES = tuple(RUNTIMES)
