"""What the release's exporters have registered for an op sample, read inside its environment.

For one frozen op case: the ATen ops it becomes, and for each, the TorchScript opsets at which the release has a
symbolic function and whether torchlib (the dynamo exporter's table) has a function for it. The host asks for it
per case with a ``registry`` request (``python -m matrix ops registry``); the answer is facts, not a cell's row.

The ATen ops come from ``torch.jit.trace`` on the frozen sample's inputs (the same tracer ``torch.onnx.export``
runs, in torch 1.4 as in 2.15): node kinds ``aten::*`` of the traced graph, inlined, with a trailing ``_`` (in
place) dropped as the exporter drops it before its registry lookup. The dynamo exporter sees the same op through
torch.export, then decomposes what torchlib lacks: an ATen op without a torchlib function there may still export
("unregistered but works (decomposed)"). Registry lookups are by name, not overload (``aten::add``, any of its
overloads), as the TorchScript registry is keyed and as torchlib's table is read here.
Python 3.7 syntax: torch 1.4's environment runs it.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Dict, List, Optional, Set, Tuple

_TORCHLIB: Dict[str, Any] = {}  # read once per worker: building torchlib's table takes seconds


def _registry_module() -> Tuple[Any, str]:
    """The TorchScript symbolic registry and its dotted name, per era (1.13+ ``registration.registry``, with the
    symbolic modules imported so every opset's functions are registered; 1.4-1.12 ``symbolic_registry``)."""
    for package in ("torch.onnx._internal.torchscript_exporter", "torch.onnx._internal"):
        try:
            registration = importlib.import_module(package + ".registration")
        except ImportError:
            continue
        base = package if package.endswith("torchscript_exporter") else "torch.onnx"
        for opset in range(7, 30):
            try:
                importlib.import_module("%s.symbolic_opset%d" % (base, opset))
            except ImportError:
                continue
        return registration.registry, package + ".registration.registry"
    import torch.onnx.symbolic_registry as old  # torch 1.4 - 1.12
    return old, "torch.onnx.symbolic_registry"


def symbolic_opsets(names: List[str], opsets: List[int]) -> Tuple[Dict[str, List[int]], str]:
    """Per ATen op name, the opsets (of ``opsets``) at which the TorchScript exporter has a symbolic for it."""
    registry, where = _registry_module()
    found: Dict[str, List[int]] = {}
    for name in names:
        found[name] = []
        for opset in opsets:
            if hasattr(registry, "get_function_group"):  # 1.13+: "aten::roll", dispatched to opset <= asked
                group = registry.get_function_group(name)
                ok = group is not None and group.get(opset) is not None
            else:  # 1.4-1.12: "roll" in domain "", each opset's table filled from its own and opset 9's module
                registry.register_version("", opset)
                ok = registry.is_registered_op(name.split("::", 1)[1], "", opset)
            if ok:
                found[name].append(opset)
    return found, where


def _torchlib_names() -> Tuple[Optional[Set[str]], str]:
    """Every ATen op name torchlib has a function for, as the release's dynamo exporter builds its table, and
    where it came from; None and the reason where this torch has no dynamo exporter."""
    try:  # torch >= 2.5: the exporter's own registry, from onnxscript's torchlib and torch's internal one
        from torch.onnx._internal.exporter._registration import ONNXRegistry
        keys = list(ONNXRegistry.from_torchlib().functions)
        where = "torch.onnx._internal.exporter._registration.ONNXRegistry.from_torchlib()"
    except ImportError:
        try:  # torch 2.1 - 2.4: dynamo_export's OnnxRegistry over onnxscript's torchlib
            from torch.onnx._internal.exporter import OnnxRegistry
        except ImportError as exc:
            return None, "no dynamo exporter registry in this torch (%s)" % exc
        keys = ["%s::%s" % (k.namespace, k.op_name) for k in OnnxRegistry()._registry]
        where = "torch.onnx._internal.exporter.OnnxRegistry()"
    names = set()
    for key in keys:
        name = key if isinstance(key, str) else getattr(key, "name", lambda: str(key))()
        names.add(str(name).split(".", 1)[0])  # "aten::add.Tensor" is aten::add
    return names, where


def torchlib_names() -> Tuple[Optional[Set[str]], str]:
    if not _TORCHLIB:
        try:
            _TORCHLIB["names"], _TORCHLIB["where"] = _torchlib_names()
        except Exception as exc:  # a release whose table does not build: say why, keep the TorchScript side
            _TORCHLIB["names"], _TORCHLIB["where"] = None, "torchlib's table failed: %s: %s" % (
                type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
    return _TORCHLIB["names"], _TORCHLIB["where"]


def _kinds(graph: Any, found: List[str]) -> None:
    for node in graph.nodes():
        kind = node.kind()
        if kind.startswith("aten::"):
            name = kind[:-1] if kind.endswith("_") else kind  # the exporter's own in-place rule (__and_ too)
            if name not in found:
                found.append(name)
        for block in node.blocks():
            _kinds(block, found)


def aten_ops(module: Any, inputs: Tuple[Any, ...]) -> List[str]:
    """The ATen ops of the traced sample, in graph order."""
    import warnings

    import torch
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings about constants: the graph is what matters here
        try:
            traced = torch.jit.trace(module, inputs, check_trace=False, strict=False)
        except TypeError:  # torch < 1.6 has no strict
            traced = torch.jit.trace(module, inputs, check_trace=False)
    found: List[str] = []
    _kinds(getattr(traced, "inlined_graph", traced.graph), found)
    return found


def describe(loaded: Any) -> Dict[str, Any]:
    """One op case's ATen ops, or why there are none (the release lacks the op, the tracer refused)."""
    import torch

    from matrix.wire.contract import CaseSkip
    torch.manual_seed(0)
    try:
        module, inputs = loaded.builders["default"]()
    except CaseSkip as exc:
        return {"skip": str(exc)}
    except Exception as exc:
        return {"error": "build: %s: %s" % (type(exc).__name__, str(exc)[:300])}
    try:
        return {"aten": aten_ops(module, tuple(inputs))}
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        return {"error": "trace: %s: %s" % (type(exc).__name__, first)}


def answer(cases: Dict[str, Any], request: Dict[str, Any]) -> Dict[str, Any]:
    """A ``registry`` request: {"key", "cases": [ids], "opsets": [TorchScript opsets]} -> the cases' ATen ops
    and, for every ATen op among them, its symbolic opsets and whether torchlib has it."""
    ops = {}
    for case_id in request.get("cases") or []:
        loaded = cases.get(case_id)
        ops[case_id] = describe(loaded) if loaded is not None else {"error": "no such case in this worker"}
    names = sorted({name for facts in ops.values() for name in facts.get("aten", [])})
    symbolics, where = symbolic_opsets(names, list(request.get("opsets") or []))
    torchlib, torchlib_where = torchlib_names()
    return {"cell": request["key"], "ops": ops, "symbolics": symbolics, "torchscript_registry": where,
            "torchlib": None if torchlib is None else sorted(n for n in names if n in torchlib),
            "torchlib_registry": torchlib_where, "torchlib_size": None if torchlib is None else len(torchlib),
            "python": sys.version.split()[0]}
