"""``reduce`` of an export failure, inside the cell's environment: the case's module exported again as the cell did,
then each distinct ATen op of its ``torch.jit.trace`` graph exported as a one-op module, and the operator corpus's
frozen samples of the failing op the host names, each with the cell's exporter, opset and options.

    python -m matrix.worker.reduce_export REQUEST.json OUT

REQUEST holds the cell (case, variant, cases_dirs, exporter, opset, options), the op the host named from the
error (or null) and the corpus samples of it. A one-op module is an ``OpCall`` (matrix/worker/opcall.py) of
``torch.ops.aten.<op>`` with the traced call's arguments: constants as they were, tensors the graph reads from
the case's inputs or its parameters with their real values, tensors it computes with values of their traced shape
and dtype (zeros for integers and bools, so an index stays in range). Writes OUT/candidate_<i>.json (the sample,
in the corpus's frozen form) and prints a JSON summary with every candidate's export outcome; the host judges which
fails "the same way" (error signature) and keeps that one. Python 3.7, stdlib + torch (+ onnx as the export needs).
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

MAX_OPS = 60  # distinct ops exported one by one: a case's graph has a few dozen at most
# torch's ScalarType numbering (c10/core/ScalarType.h): a traced graph holds a dtype argument as this int
SCALAR_TYPES = ["uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "complex32",
                "complex64", "complex128", "bool"]


class Unencodable(Exception):
    """A traced argument a frozen sample cannot hold (a value computed at run time that is no tensor)."""


def encoded(tensor: Any) -> Dict[str, Any]:
    """A tensor in the frozen corpus's form (``opcall.tensor_of`` reads it back)."""
    array = tensor.detach().cpu().contiguous().numpy()
    little = array.astype(array.dtype.newbyteorder("<"))
    return {"data": base64.b64encode(little.tobytes()).decode("ascii"), "dtype": str(array.dtype),
            "shape": list(array.shape)}


def synthetic(value: Any) -> Any:
    """A tensor of a traced value's shape and dtype: zeros for integers and bools, seeded normals otherwise."""
    import torch
    kind = value.type()
    sizes, scalar = kind.sizes(), kind.scalarType()  # raises where the trace did not record them
    if sizes is None or scalar is None:
        raise Unencodable("%s has no complete type" % value.debugName())
    dtype = {"Float": torch.float32, "Double": torch.float64, "Half": torch.float16, "Long": torch.int64,
             "Int": torch.int32, "Short": torch.int16, "Char": torch.int8, "Byte": torch.uint8,
             "Bool": torch.bool}.get(str(scalar))
    if dtype is None:
        raise Unencodable("dtype %s" % scalar)
    if dtype.is_floating_point:
        generator = torch.Generator().manual_seed(0)
        return torch.randn(*sizes, generator=generator).to(dtype)
    return torch.zeros(*sizes, dtype=dtype)


def schema_arguments(text: str) -> List[Tuple[str, str, bool]]:
    """(type, name, keyword-only) of each argument of a schema string: ``aten::clone(Tensor self, *,
    MemoryFormat? memory_format=None) -> Tensor``."""
    inner = text[text.index("(") + 1:]
    depth, parts, current = 0, [], ""
    for char in inner:
        if char == ")" and depth == 0:
            break
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    found, keyword = [], False
    for part in (p.strip() for p in parts if p.strip()):
        if part == "*":
            keyword = True
            continue
        declared = part.split("=")[0].strip().rsplit(" ", 1)
        found.append((declared[0], declared[-1], keyword))
    return found


def schema_of(node: Any) -> List[Tuple[str, str, bool]]:
    """The node's schema's arguments: its own where torch has ``Node.schema`` (not torch 1.4), else the first
    non-out overload of its kind with as many arguments as it has inputs."""
    import torch
    texts = []
    if hasattr(node, "schema"):
        try:
            texts.append(node.schema())
        except RuntimeError:  # "(no schema)": an op the trace recorded without one
            pass
    texts += [str(s) for s in torch._C._jit_get_schemas_for_operator(node.kind()) if ".out(" not in str(s)]
    count = len(list(node.inputs()))
    for text in texts:
        if text != "(no schema)" and len(schema_arguments(text)) == count:
            return schema_arguments(text)
    raise Unencodable("no schema of %s with %d arguments" % (node.kind(), count))


class Tracer(object):
    """A case's traced graph and what each of its values is: a case input or parameter (real), a constant, or a
    value some node computes (a tensor of its traced type)."""

    def __init__(self, module: Any, inputs: Tuple[Any, ...]) -> None:
        import torch

        from matrix.worker.outputs import flatten_inputs
        self.graph, _ = torch.jit._get_trace_graph(module, tuple(inputs))
        state = list(torch.jit._unique_state_dict(module, keep_vars=True).values())
        # the trace's inputs: the case's flattened inputs, then the module's state (as torch.onnx traces it)
        self.known = dict(zip([v.debugName() for v in self.graph.inputs()], list(flatten_inputs(inputs)) + state))
        self.nodes = {v.debugName(): n for n in self.graph.nodes() for v in n.outputs()}

    def ops(self) -> List[Any]:
        """The first node of each distinct ATen op that makes a tensor, in graph order."""
        seen, found = set(), []
        for node in self.graph.nodes():
            kind = node.kind()
            makes_tensor = any(o.type().kind() == "TensorType" for o in node.outputs())
            if kind.startswith("aten::") and makes_tensor and kind not in seen:
                seen.add(kind)
                found.append(node)
        return found

    def argument(self, value: Any, declared: str, name: str, tensors: List[Any]) -> Any:
        """A frozen sample's form of ``value``: ``{"in": i}`` for a tensor (appended to ``tensors``)."""
        import torch
        producer = self.nodes.get(value.debugName())
        if producer is not None and producer.kind() == "prim::ListConstruct":
            return [self.argument(v, declared.replace("[]", ""), name, tensors) for v in producer.inputs()]
        if producer is not None and producer.kind() == "prim::Constant":
            constant = value.toIValue()
            if isinstance(constant, torch.Tensor):
                tensors.append(constant)
                return {"in": len(tensors) - 1}
            if isinstance(constant, int) and not isinstance(constant, bool) and (
                    "ScalarType" in declared or name == "dtype") and 0 <= constant < len(SCALAR_TYPES):
                return {"dtype": SCALAR_TYPES[constant]}
            if isinstance(constant, float):
                return {"float": repr(constant)}
            if constant is None or isinstance(constant, (bool, int, str)):
                return constant
            if isinstance(constant, torch.device):  # torch.ops takes a device by its name
                return str(constant)
            if isinstance(constant, (list, tuple)) and all(isinstance(c, (bool, int)) for c in constant):
                return list(constant)
            raise Unencodable("constant %r of %s" % (constant, name))
        if value.debugName() in self.known and isinstance(self.known[value.debugName()], torch.Tensor):
            tensors.append(self.known[value.debugName()].detach())
            return {"in": len(tensors) - 1}
        if value.type().kind() == "TensorType":
            tensors.append(synthetic(value))
            return {"in": len(tensors) - 1}
        raise Unencodable("%s (%s) is computed at run time" % (name, value.type()))

    def sample(self, node: Any) -> Dict[str, Any]:
        """The node as a frozen sample: ``torch.ops.aten.<op>`` with its arguments."""
        tensors, args, kwargs = [], [], {}
        for (declared, name, keyword), value in zip(schema_of(node), node.inputs()):
            encoded_value = self.argument(value, declared, name, tensors)
            if keyword:
                kwargs[name] = encoded_value
            else:
                args.append(encoded_value)
        return {"call": call_path(node.kind().split("::", 1)[1]), "args": args, "kwargs": kwargs,
                "tensors": [encoded(t) for t in tensors]}


def call_path(name: str) -> str:
    """How Python calls the ATen op ``name`` here: ``torch.ops.aten.<name>``, which picks the overload by its
    arguments, else (torch 1.4: "Overloads are not supported from Python") torch's function or Tensor method."""
    import torch
    try:
        getattr(torch.ops.aten, name)
        return "torch.ops.aten." + name
    except (RuntimeError, AttributeError):
        return "torch." + name if hasattr(torch, name) else "torch.Tensor." + name


def portable(text: str, path: str) -> str:
    """An error as the pipeline records it: the exported file is model.onnx, the environment's prefix out."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text.replace(path, "model.onnx"))  # dynamo colours it for a terminal
    for prefix in sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix)}, key=len, reverse=True):
        text = text.replace(prefix + os.sep, "")
    return text


def export_outcome(request: Dict[str, Any], module: Any, inputs: Tuple[Any, ...], scratch: str) -> Dict[str, Any]:
    """Export ``module`` as the cell does (its exporter's code for these inputs and outputs): status, message and
    the export call, as the pipeline's export stage records them."""
    import torch

    from matrix.adapters import EXPORTERS
    from matrix.worker.outputs import describe, flatten, flatten_inputs, fresh
    from matrix.worker.stages import Built, export
    exporter = EXPORTERS[request["exporter"]]
    with torch.no_grad():
        outputs = flatten(module(*fresh(inputs)))
    names = {"inputs": ["input_%d" % i for i in range(len(flatten_inputs(inputs)))],
             "outputs": ["output_%d" % i for i in range(len(outputs))]}
    source = exporter.source(int(request["opset"]), request.get("options") or {}, names, exporter.probe(),
                             scripted=isinstance(module, torch.jit.ScriptModule))
    path = os.path.join(scratch, "model.onnx")
    exporter.reset()
    started = time.monotonic()
    try:
        export(source, "<%s export>" % exporter.name, Built(module, tuple(inputs), []), path)
        outcome = {"status": "exported", "message": ""}
    except Exception as exc:  # noqa: BLE001  (every failure of the exporter is an outcome)
        outcome = {"status": "export-fail", "error_type": type(exc).__name__,
                   "message": portable(describe(exc), path)}
    if os.path.exists(path):
        os.remove(path)
    outcome.update(export_call=source, seconds=round(time.monotonic() - started, 2))
    return outcome


def load_case(request: Dict[str, Any]) -> Tuple[Any, Tuple[Any, ...]]:
    """The cell's module and inputs, built as the build stage builds them (seeds fixed): a case module of a
    folder, or an operator of the frozen corpus (a folder holding opinfo.jsonl)."""
    from matrix.adapters import EXPORTERS, RUNTIMES
    from matrix.wire.opcases import op_cases
    from matrix.worker.discovery import case_files, importable
    from matrix.worker.discovery import load_case as load
    from matrix.worker.stages import build
    names = {"exporters": sorted(EXPORTERS), "runtimes": sorted({a.runtime for a in RUNTIMES.values()}),
             "providers": sorted({a.provider for a in RUNTIMES.values()})}
    importable(request["cases_dirs"])
    for folder in request["cases_dirs"]:
        found = [(i, p, s) for i, p, s in op_cases(folder) if i == request["case"]]
        found += [(i, p, None) for i, p in case_files([folder]) if i == request["case"]]
        if found:
            loaded = load(found[0][0], found[0][1], names, source=found[0][2])
            variant = request.get("variant") or "default"
            built = build(loaded.builders[variant], False, "%s: build_%s()" % (found[0][1], variant))
            return built.module, built.inputs
    raise SystemExit("no case %r under %s" % (request["case"], ", ".join(request["cases_dirs"])))


def named_first(nodes: List[Any], named: Optional[str]) -> List[Any]:
    """The traced nodes with the named op's first: ``index_put`` is aten::index_put and aten::index_put_."""
    hit = [n for n in nodes if named and re.sub(r"_$", "", n.kind().split("::", 1)[1]) == named]
    return hit + [n for n in nodes if n not in hit]


def scripted_ops(module: Any) -> Optional[List[str]]:
    """The distinct ATen ops of a ScriptModule's graph, in order (None for a module that is not scripted)."""
    import torch
    if not isinstance(module, torch.jit.ScriptModule):
        return None
    graph = getattr(module, "inlined_graph", None) or module.graph
    found: List[str] = []
    pending = list(graph.nodes())
    while pending:  # a loop's or an if's body holds nodes of its own
        node = pending.pop(0)
        for block in node.blocks():
            pending.extend(block.nodes())
        if node.kind().startswith("aten::") and node.kind() not in found:
            found.append(node.kind())
    return found


def candidates(request: Dict[str, Any], module: Any, inputs: Tuple[Any, ...], out: str,
               scratch: str) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """Every one-op module's outcome (the corpus's samples first, then the traced ops); why tracing failed."""
    from matrix.worker.opcall import OpCall
    found: List[Dict[str, Any]] = []
    planned = [(dict(s, source="corpus"), None) for s in request.get("corpus") or []]
    trace_error = None
    scripted = scripted_ops(module)
    if scripted is not None:  # torch.jit.trace cannot follow it; its own graph says which ops it has
        trace_error = ("a ScriptModule: one-op modules are made from traced calls only; its scripted graph has "
                       + (", ".join(scripted) or "no ATen op"))
    try:
        if request.get("trace", True) and scripted is None:  # the host's second round: the corpus's samples alone
            tracer = Tracer(module, inputs)
            planned += [(None, n) for n in named_first(tracer.ops(), request.get("op"))[:MAX_OPS]]
    except Exception as exc:  # noqa: BLE001  (a module torch.jit.trace cannot follow: the corpus alone)
        trace_error = "%s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0][:300] if str(exc) else "")
    for given, node in planned:
        entry: Dict[str, Any] = {"source": "trace", "kind": node.kind()} if node is not None else {
            "source": "corpus", "case_id": given["case_id"], "kind": given["call"]}
        try:
            sample = given["sample"] if given else tracer.sample(node)
            one_op, one_inputs = OpCall.of(sample)
        except Exception as exc:  # noqa: BLE001  (Unencodable, or an eager op that refuses the values)
            entry.update(status="not-built", message="%s: %s" % (type(exc).__name__, exc))
            found.append(entry)
            continue
        entry.update(export_outcome(request, one_op, one_inputs, scratch), call=sample["call"])
        entry["sample_file"] = "candidate_%d.json" % len(found)
        with open(os.path.join(out, entry["sample_file"]), "w") as handle:
            json.dump(sample, handle)
        found.append(entry)
    return found, trace_error


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as handle:
        request = json.load(handle)
    out = argv[1]
    import torch
    started = time.monotonic()
    scratch = tempfile.mkdtemp(prefix=".reduce-export-", dir=out)
    here = os.getcwd()
    os.chdir(scratch)  # torch 2.1's dynamo_export writes its SARIF report into the working folder
    try:
        module, inputs = load_case(request)
        baseline = export_outcome(request, module, inputs, scratch)
        found, trace_error = candidates(request, module, inputs, out, scratch)
    finally:
        os.chdir(here)
        shutil.rmtree(scratch, ignore_errors=True)
    result = {"baseline": baseline, "candidates": found, "trace_error": trace_error, "torch": torch.__version__,
              "python": "%d.%d.%d" % sys.version_info[:3], "seconds": round(time.monotonic() - started, 2)}
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
