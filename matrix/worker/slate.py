"""A clean slate for every case: what a case can change in the worker, restored before it and checked after.

The worker is long-lived, so whatever a case changes in the process would change every later
case's rows: the default dtype, grad mode, the ONNX exporter's symbolic registry, the
exporter and runtime functions (a wrapper around ``torch.onnx.export``), the seeding functions, the methods
of torch's and numpy's classes (``torch.nn.ReLU.forward = ...``), the environment,
the working directory, threads and child processes it leaves behind. ``Slate`` captures all
of it once the worker has imported everything, puts back what can be put back before each
case, and describes what differs after each cell; the host restarts the worker before the
next case when anything does. Python 3.7 syntax; torch 1.4 to the newest.
"""
from __future__ import annotations

import operator
import os
import signal
import sys
import tempfile
import threading
import types
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy
import torch

# Modules whose functions the pipeline calls (directly, or through the adapters, which add their own in
# watched()): a case that replaces one of their attributes changes how every later cell is exported,
# loaded or run.
# The seeding functions' modules are watched too: a case that makes numpy.random.seed a no-op changes every
# later case's inputs.
WATCHED = ("torch", "torch.nn.functional", "onnx", "onnx.checker", "onnx.shape_inference", "numpy", "numpy.random",
           "random")
# Packages whose classes a case reaches (torch.nn.ReLU, torch.Tensor, numpy's Python classes): a patched method
# (torch.nn.ReLU.forward = ...) changes every later case's eager run and its export alike, so nothing diverges.
CLASS_PACKAGES = ("torch", "numpy")
REGISTRY_MODULES = ("torch.onnx._internal.torchscript_exporter.registration", "torch.onnx._internal.registration")


def _setting(get: Callable[[], Any], put: Callable[[Any], Any]) -> Tuple[Callable[[], Any], Callable[[Any], Any]]:
    return get, put


def _settings() -> Dict[str, Tuple[Callable[[], Any], Callable[[Any], Any]]]:
    """Process-wide settings a case can change, each with how to read it and how to put it back."""
    table = {
        "torch default dtype": _setting(torch.get_default_dtype, torch.set_default_dtype),
        "torch grad mode": _setting(torch.is_grad_enabled, torch.set_grad_enabled),
        "torch threads": _setting(torch.get_num_threads, torch.set_num_threads),
        "torch anomaly detection": _setting(torch.is_anomaly_enabled, torch.set_anomaly_enabled),
        "numpy error handling": _setting(numpy.geterr, lambda v: numpy.seterr(**v)),
        "numpy print options": _setting(numpy.get_printoptions, lambda v: numpy.set_printoptions(**v)),
        "working directory": _setting(os.getcwd, os.chdir),
        "environment variables": _setting(lambda: dict(os.environ), _put_environ),
        "sys.path": _setting(lambda: list(sys.path), lambda v: sys.path.__setitem__(slice(None), v)),
        # libraries add filters as they import; what changes outcomes is a warning made an error
        "warnings made errors": _setting(lambda: [f for f in warnings.filters if f[0] == "error"],
                                         lambda v: _put_filters()),
        "recursion limit": _setting(sys.getrecursionlimit, sys.setrecursionlimit),
        "sys.stdout/stderr": _setting(lambda: (sys.stdout, sys.stderr), _put_streams),
        "signal handlers": _setting(_handlers, _put_handlers),
        "pending alarm (signal.alarm)": _setting(_peek_alarm, signal.alarm),
    }
    if hasattr(getattr(torch, "backends", None), "mkldnn"):
        table["torch mkldnn"] = _setting(lambda: torch.backends.mkldnn.enabled,
                                         lambda v: setattr(torch.backends.mkldnn, "enabled", v))
    if hasattr(torch, "are_deterministic_algorithms_enabled"):  # torch >= 1.8
        table["torch deterministic algorithms"] = _setting(torch.are_deterministic_algorithms_enabled,
                                                           torch.use_deterministic_algorithms)
    if hasattr(torch, "get_float32_matmul_precision"):  # torch >= 1.12
        table["torch float32 matmul precision"] = _setting(torch.get_float32_matmul_precision,
                                                           torch.set_float32_matmul_precision)
    if hasattr(torch, "get_default_device"):  # torch >= 2.3
        table["torch default device"] = _setting(lambda: str(torch.get_default_device()), torch.set_default_device)
    return table


_FILTERS: List[Any] = []


def _put_filters() -> None:
    warnings.filters[:] = _FILTERS


def watched() -> Tuple[str, ...]:
    """WATCHED and every adapter's own modules."""
    from matrix.adapters import EXPORTERS, RUNTIMES
    names = list(WATCHED)
    for adapter in list(EXPORTERS.values()) + list(RUNTIMES.values()):
        names.extend(adapter.modules)
    return tuple(dict.fromkeys(names))


def reset_exporters() -> None:
    """What each exporter carries over from earlier exports, forgotten (dynamo's caches)."""
    from matrix.adapters import EXPORTERS
    for exporter in EXPORTERS.values():
        exporter.reset()


def _adopt_torchs_variables(saved: Dict[str, str], now: Dict[str, str]) -> None:
    """Variables torch sets for itself as it first compiles (dynamo's export sets TORCHINDUCTOR_CACHE_DIR in torch
    2.15) join the baseline: torch's own set-up, not a case's change, and putting them back would only have torch
    set them again in the next case (a worker restart after every case of the operator corpus)."""
    for key in set(saved) | set(now):
        if key.startswith("TORCH") and saved.get(key) != now.get(key):
            if key in now:
                saved[key] = now[key]
            else:
                saved.pop(key, None)


def _torchs_own_paths(saved: List[str], now: List[str]) -> bool:
    """Whether sys.path only gained folders of the environment itself or temporary ones: torch 2.6's first dynamo
    export adds setuptools/_vendor and a /tmp folder for its compiler; put back, torch adds them again in the next
    case (a worker restart after every case). A case's own folder anywhere else is still a change."""
    added = [p for p in now if p not in saved]
    roots = tuple(os.path.realpath(r) + os.sep for r in (sys.prefix, tempfile.gettempdir()))
    return bool(added) and all(p in now for p in saved) and all(
        os.path.realpath(p).startswith(roots) for p in added)


def _put_environ(saved: Dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


def _put_streams(saved: Tuple[Any, Any]) -> None:
    sys.stdout, sys.stderr = saved


SIGNALS = [s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD, signal.SIGPIPE)]


def _peek_alarm() -> int:
    """Seconds until a SIGALRM a case scheduled (it would kill the worker in a later cell), leaving it set."""
    left = signal.alarm(0)
    if left:
        signal.alarm(left)
    return left


def _handlers() -> Dict[int, Any]:
    return {int(s): signal.getsignal(s) for s in SIGNALS}


def _put_handlers(saved: Dict[int, Any]) -> None:
    for number, handler in saved.items():
        if handler is not None:
            signal.signal(number, handler)


def _registry() -> Optional[Dict[str, Any]]:
    """The TorchScript exporter's symbolic registry: torch >= 1.13 (name -> group), or torch 1.x's dict."""
    for name in REGISTRY_MODULES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "registry"):
            return module.registry._registry
    module = sys.modules.get("torch.onnx.symbolic_registry")
    return getattr(module, "_registry", None)


def _custom_symbolics(registry: Optional[Dict[Any, Any]]) -> Dict[Any, Any]:
    """Symbolic functions registered on top of the exporter's own: what register_custom_op_symbolic adds.

    torch >= 1.13 keeps them as overrides of each name's group; torch 1.x in domains other
    than the standard one (its API refuses to override onnx, aten and prim ops). The exporter's
    own entries fill in lazily (per opset in 1.x), so they are not compared.
    """
    found = {}  # type: Dict[Any, Any]
    if not registry:
        return found
    for key, value in list(registry.items()):
        functions = getattr(value, "_functions", None)
        if functions is not None:
            for opset, function in getattr(functions, "_overrides", {}).items():
                found[(key, opset)] = function
        elif isinstance(value, dict):
            domain = key[0] if isinstance(key, tuple) else key
            if domain != "":
                for op, function in value.items():
                    found[(key, op)] = function
    return found


def _restore_symbolics(registry: Optional[Dict[Any, Any]], saved: Dict[Any, Any]) -> None:
    if not registry:
        return
    for (key, opset), function in _custom_symbolics(registry).items():
        if saved.get((key, opset)) is function:
            continue
        value = registry.get(key)
        functions = getattr(value, "_functions", None)
        if functions is not None:
            if hasattr(functions, "remove_override"):
                functions.remove_override(opset)
        elif isinstance(value, dict):
            value.pop(opset, None)
    for (key, opset), function in saved.items():
        value = registry.get(key)
        functions = getattr(value, "_functions", None)
        if functions is not None and hasattr(functions, "override"):
            functions.override(opset, function)
        elif isinstance(value, dict):
            value[opset] = function


def _package(name: Any) -> str:
    return str(name or "").split(".")[0]


def _classes() -> List[type]:
    """The classes CLASS_PACKAGES define, as their imported modules hold them."""
    found = {}  # type: Dict[int, type]
    for name, module in list(sys.modules.items()):
        if _package(name) not in CLASS_PACKAGES:
            continue
        for value in list(getattr(module, "__dict__", {}).values()):
            # the class's own __dict__: getattr would run a deprecation shim's metaclass (torch.distributed)
            if isinstance(value, type) and _package(vars(value).get("__module__")) in CLASS_PACKAGES:
                found[id(value)] = value
    return list(found.values())


def _methods(cls: type) -> Dict[str, Any]:
    """A class's own functions and descriptors (methods, properties, staticmethods): what a patch replaces.
    Its data (caches, counters, __slotnames__) changes as it is used, so it is not compared."""
    return {k: v for k, v in vars(cls).items() if callable(v) or hasattr(type(v), "__get__")}


# Where torch's own code lives: a replacement defined there is torch patching itself (torch.fx's
# immutable_list.__hash__, dynamo_export's io_adapter steps, torch.export's Module.__init__, torch.cond's
# torch.jit.trace), part of the baseline, not a case's doing. (A case that patches a class with another torch
# function is taken for torch's own doing too: the price of no false alarms.)
OWN_PACKAGES = ("torch", "numpy", "onnx", "onnxscript", "onnx_ir", "onnxruntime")


def _torchs_own(value: Any) -> bool:
    """Whether ``value`` (a replacement function, method, property) is defined in torch's or its peers' code."""
    for _ in range(10):  # through staticmethod/classmethod, property, partial and functools.wraps layers
        inner = (getattr(value, "__func__", None) or getattr(value, "fget", None) or getattr(value, "func", None)
                 or getattr(value, "__wrapped__", None))
        if inner is None or inner is value:
            break
        value = inner
    return _package(getattr(value, "__module__", None)) in OWN_PACKAGES


def _python_replaces_itself(before: Any, value: Any) -> bool:
    """Python's typing gives a Protocol's subclass ``object.__init__`` (or replaces its placeholder) on the
    class's first use: torch.onnx's io_adapter steps are such classes."""
    placeholder = getattr(before, "__name__", None) == "_no_init_or_replace_init" and \
        getattr(before, "__module__", None) == "typing"
    return placeholder or value is object.__init__


def _adopt(saved: Dict[str, Any], now: Dict[str, Any]) -> None:
    """Take torch's (and Python's) own replacements into the baseline ``saved``: neither reported nor undone."""
    for key, value in now.items():
        before = saved.get(key, _MISSING)
        if value is not before and value is not None and (_torchs_own(value) or _python_replaces_itself(before, value)):
            saved[key] = value


class _Watched(object):
    """One class as the slate saw it: its methods (what a patch replaces) and its whole ``__dict__`` as it
    was last seen unchanged, so a scan of some 2,000 classes costs one identity check per attribute."""

    __slots__ = ("cls", "methods", "keys", "values")

    def __init__(self, cls: type) -> None:
        self.cls, self.methods = cls, _methods(cls)
        self.see()

    def see(self) -> None:
        now = vars(self.cls)
        self.keys, self.values = tuple(now), tuple(now.values())

    def unchanged(self) -> bool:
        # identity, in C (map and all): a scan of every class between two cells costs a few milliseconds
        now = vars(self.cls)
        return len(now) == len(self.keys) and all(map(operator.is_, now.values(), self.values)) and \
            tuple(now) == self.keys


def _patched(cls: type, saved: Dict[str, Any], watched: Optional["_Watched"] = None) -> List[str]:
    """The methods of ``cls`` replaced, removed or added since ``saved`` (torch's own patches adopted)."""
    if watched is not None and watched.unchanged():
        return []
    now = _methods(cls)
    _adopt(saved, now)
    found = sorted(k for k in set(saved) | set(now) if now.get(k, _MISSING) is not saved.get(k, _MISSING))
    if watched is not None and not found:  # only its data changed (a cache, __slotnames__): seen as it is now
        watched.see()
    return found


def _restore_class(watched: "_Watched") -> None:
    cls, saved = watched.cls, watched.methods
    for name in _patched(cls, saved, watched):
        try:
            if name in saved:
                setattr(cls, name, saved[name])
            else:
                delattr(cls, name)
        except (AttributeError, TypeError):  # shows in changes(): the host restarts the worker
            pass


def _children() -> List[int]:
    """Processes whose parent is this worker (left behind by a case: a fork, a pool)."""
    me, found = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(me).encode() and fields[0] != b"Z":
            found.append(int(entry))
    return found


class Slate(object):
    """The worker's state as it was once everything was imported."""

    def __init__(self) -> None:
        _FILTERS[:] = list(warnings.filters)
        self.settings, self.saved = {}, {}
        for name, (get, put) in _settings().items():
            try:
                self.saved[name] = get()
            except Exception:  # a setting this torch cannot read is one it does not have
                continue
            self.settings[name] = (get, put)
        self.modules = {name: sys.modules[name] for name in watched() if name in sys.modules}
        self.attributes = {name: dict(vars(module)) for name, module in self.modules.items()}
        self.symbolics = _custom_symbolics(_registry())
        self.classes = [_Watched(cls) for cls in _classes()]
        self.threads = {t.ident for t in threading.enumerate()}

    def restore_functions(self) -> None:
        """Put back the functions of the watched modules: the harness calls the ones captured at start."""
        for name, module in self.modules.items():
            current = vars(module)
            for attribute, value in self.attributes[name].items():
                if current.get(attribute, _MISSING) is not value and value is not None:
                    setattr(module, attribute, value)

    def restore(self) -> None:
        """Put back what a case may have changed (the worker calls this before each case)."""
        for name, (get, put) in self.settings.items():
            try:
                if get() != self.saved[name]:
                    put(self.saved[name])
            except Exception:  # a setting that cannot be put back shows in changes(): the host restarts
                pass
        self.restore_functions()
        for watched in self.classes:
            _restore_class(watched)
        _restore_symbolics(_registry(), self.symbolics)
        warnings.filters[:] = _FILTERS
        reset_exporters()

    def changes(self, processes: bool = True, classes: bool = True) -> List[str]:
        """What differs from the captured state, in words (empty: nothing).

        ``processes`` also scans for child processes (a walk of /proc): after a case's own code,
        where a fork or a pool comes from; the exporters and runtimes start none. ``classes`` also scans
        the methods of torch's and numpy's classes (some 2,000 of them, ~10 ms): after the case's code ran
        (its build, or an export that called its forward); a runtime on a cached export runs none of it,
        and what a case patched is put back before the next case all the same.
        """
        found = []
        for name, (get, _) in self.settings.items():
            try:
                now = get()
            except Exception as exc:
                now = "unreadable (%s)" % exc
            if name == "environment variables" and isinstance(now, dict):
                _adopt_torchs_variables(self.saved[name], now)
            if name == "sys.path" and isinstance(now, list) and _torchs_own_paths(self.saved[name], now):
                self.saved[name] = list(now)
            if now != self.saved[name]:
                found.append("%s changed (%s)" % (name, _difference(self.saved[name], now)))
        for name, module in self.modules.items():
            current = vars(module)
            _adopt(self.attributes[name], {a: current.get(a) for a in self.attributes[name]})
            # a module's None filled in later (torch.jit's builtin table) is its own lazy set-up, not a case's
            replaced = sorted(a for a, v in self.attributes[name].items()
                              if current.get(a, _MISSING) is not v and v is not None
                              and not isinstance(v, types.ModuleType))
            if replaced:
                found.append("%s replaced: %s" % (name, ", ".join("%s.%s" % (name, a) for a in replaced[:5])))
        patched = ["%s.%s.%s" % (w.cls.__module__, w.cls.__qualname__, name)
                   for w in (self.classes if classes else []) for name in _patched(w.cls, w.methods, w)]
        if patched:
            found.append("class attributes replaced: %s" % ", ".join(patched[:5]))
        symbolics = _custom_symbolics(_registry())
        if symbolics != self.symbolics:
            added = sorted({str(k[0]) for k in set(symbolics) ^ set(self.symbolics)})
            found.append("ONNX symbolic registry changed (custom symbolic for %s)" % (", ".join(added[:5]) or "an op"))
        threads = [t for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()]
        if threads:
            found.append("%d thread(s) left running (%s)" % (len(threads), ", ".join(t.name for t in threads[:3])))
        children = _children() if processes else []
        if children:
            found.append("%d child process(es) left running (pid %s)" % (len(children), ", ".join(map(str, children[:5]))))
        return found


_MISSING = object()


def _difference(before: Any, after: Any) -> str:
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        changed = [k for k in keys if before.get(k, _MISSING) != after.get(k, _MISSING)]
        return ", ".join("%s: %r -> %r" % (k, before.get(k), after.get(k)) for k in changed[:3])[:300]
    if isinstance(before, list) and isinstance(after, list):
        return "%d -> %d entries" % (len(before), len(after))
    return ("%r -> %r" % (before, after))[:300]
