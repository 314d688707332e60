"""Exporters and runtimes as small registered adapters: a new runtime is one class in one file.

Each adapter owns its availability check (``probe`` runs in the worker and says what this
environment offers; ``unavailable`` turns that into a skip reason, or None) and the exact
code it runs (``source``), which the row records and the reproduction replays. Modules
here import torch, onnx and the runtimes only inside ``probe`` and the generated code, so
the host can list the adapters and decide skips without importing torch. Python 3.7 syntax.
"""
from __future__ import annotations

from typing import Dict, List, Tuple, TypeVar

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


def runtime_columns() -> List[Tuple[str, str]]:
    return [(a.runtime, a.provider) for a in RUNTIMES.values()]


from matrix.adapters import exporters, runtimes  # noqa: E402,F401  (fill the registries)

DEFAULT_EXPORTERS = tuple(EXPORTERS)
DEFAULT_RUNTIMES = tuple(RUNTIMES)
