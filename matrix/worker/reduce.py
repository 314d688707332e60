"""``reduce``, inside an environment: a failing exported file shrunk to the smallest subgraph that fails the
same way, with real intermediate values fed at its cut, as Polygraphy's ``debug reduce`` does.

    python -m matrix.worker.reduce values MODEL DATA VALUES.npz
    python -m matrix.worker.reduce reduce MODEL DATA OUT --runtime-code FILE [--values VALUES.npz] [--atol A --rtol R]

``DATA`` holds the cell's inputs as the worker saved them (``input_<i>``, and ``batch_input_<i>`` where the case
is batchable): every input set is fed to every candidate, not one sample. The intermediate values come from onnx's
reference evaluator, node by node (a node it cannot evaluate leaves what depends on it unknown), then from the
cell's own runtime with every tensor made an output where the whole file runs there. A candidate is judged with
the runtime's recorded code (``load_model``/``run_model``, as the pipeline calls it) and fails "the same way" when
it fails at the same stage with the same normalised message (the model's path and other paths out; numbers and
names kept: stricter than the views' error signature, which the host checks again), or, for a divergence, when
its outputs differ from the reference evaluator's values of the same tensors beyond the cell's tolerance. Search:
bisect the end of the node range (topological order), then its start, then remove single nodes until none can go.
Constant nodes feeding a kept node stay with it (a cut there would turn a value the runtime folds into an input).
Writes OUT/reduced.onnx, OUT/inputs.npz (``input_<i>`` per set, ``output_<i>`` the reference values where known)
and prints a JSON summary. Python 3.7, stdlib + onnx + numpy.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy

PASS, LOAD_FAIL, RUN_FAIL, DIVERGE = "pass", "load-fail", "run-fail", "diverge"
SETS = ("input", "batch_input")
Values = List[Dict[str, numpy.ndarray]]  # per input set: tensor name -> value


def normalised(message: str, paths: Sequence[str]) -> str:
    """A failure's message as compared: all of it (OpenVINO's first line is the same for every failure), with the
    model's path taken out and white space collapsed in each line; names and numbers kept."""
    text = message or ""
    for path in sorted(paths, key=len, reverse=True):
        text = text.replace(path, "MODEL")
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines() if line.strip())[:2000]


def saved_groups(path: str) -> Dict[str, List[numpy.ndarray]]:
    """The worker's saved arrays (``stages.save_arrays``'s layout), read without the stages module: it imports
    torch (11 s in torch 2.15's environment), which no step of a reduction needs."""
    groups: Dict[str, List[numpy.ndarray]] = {prefix: [] for prefix in SETS}
    with numpy.load(path, allow_pickle=False) as data:
        for prefix in SETS:
            while "%s_%d" % (prefix, len(groups[prefix])) in data:
                groups[prefix].append(data["%s_%d" % (prefix, len(groups[prefix]))])
    return groups


def input_sets(model: Any, data_path: Optional[str]) -> Values:
    """The file's declared inputs from the cell's saved inputs, per input set, fed as ``stages.feed`` feeds them:
    by the name ``input_<i>`` where the file keeps the exporter's names, else by position; a 0-d value in the
    file's declared type. Without saved inputs (a bare file), random ones."""
    initializers = {i.name for i in model.graph.initializer}
    declared = [i for i in model.graph.input if i.name not in initializers]
    groups = saved_groups(data_path) if data_path else {}
    sets = []
    for prefix in SETS:
        arrays = groups.get(prefix) or []
        if not arrays:
            continue
        ours = ["input_%d" % i for i in range(len(arrays))]
        by_name = all(i.name in ours for i in declared)
        fed = {}
        for position, value in enumerate(declared):
            array = arrays[ours.index(value.name)] if by_name else arrays[position]
            if array.ndim == 0 and value.type.tensor_type.elem_type:
                array = array.astype(numpy_type(value.type.tensor_type.elem_type))
            fed[value.name] = array
        sets.append(fed)
    return sets or [random_inputs(declared)]


def numpy_type(elem_type: int) -> Any:
    from onnx import helper
    convert = getattr(helper, "tensor_dtype_to_np_dtype", None)  # onnx >= 1.13; onnx.mapping before
    if convert is not None:
        return convert(elem_type)
    from onnx import mapping
    return mapping.TENSOR_TYPE_TO_NP_TYPE[elem_type]


def describe(exc: BaseException) -> str:
    """The message, then what caused it (as ``outputs.describe``, which imports torch)."""
    parts = [str(exc) or type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        parts.append("caused by %s: %s" % (type(cause).__name__, cause))
    return "\n".join(parts)


def mismatch(got: Sequence[Any], want: Sequence[numpy.ndarray], atol: float, rtol: float) -> Optional[str]:
    """Why ``got`` is not ``want`` within atol + rtol * |want| (NaNs at the same places agree), or None."""
    worst, worst_rel, need = 0.0, 0.0, 0.0
    for g, w in zip(got, want):
        g, w = numpy.asarray(g), numpy.asarray(w)
        if g.shape != w.shape:
            return "shape %s, the reference evaluator gives %s" % (g.shape, w.shape)
        if g.size == 0:
            continue
        if g.dtype.kind in "biu" and w.dtype.kind in "biu":
            diff, scale = numpy.abs(g.astype(numpy.int64) - w.astype(numpy.int64)).astype(float), 0.0 * w
        else:
            g, w = g.astype(numpy.float64), w.astype(numpy.float64)
            both = numpy.isnan(g) & numpy.isnan(w)
            diff = numpy.where(both, 0.0, numpy.abs(g - w))
            scale = numpy.where(both, 0.0, numpy.abs(w))
        if not numpy.all(numpy.isfinite(diff)):
            return "a NaN or an infinity on one side only"
        worst = max(worst, float(diff.max()))
        worst_rel = max(worst_rel, float((diff / numpy.maximum(scale, 1e-12)).max()))
        need = max(need, float(numpy.maximum(diff - rtol * scale, 0.0).max()))
    if need > atol:
        return ("max abs error %.3g, max rel error %.3g: beyond atol=%g, rtol=%g against the reference evaluator"
                % (worst, worst_rel, atol, rtol))
    return None


def random_inputs(declared: List[Any]) -> Dict[str, numpy.ndarray]:
    """Inputs for a bare file given without any: its declared types and shapes, a symbolic dimension taken as 1."""
    rng = numpy.random.RandomState(0)
    found = {}
    for value in declared:
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else 1 for d in tensor.shape.dim]
        found[value.name] = numpy.asarray(rng.standard_normal(shape)).astype(numpy_type(tensor.elem_type))
    return found


def constants(model: Any) -> Dict[str, numpy.ndarray]:
    from onnx import numpy_helper
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def reference_values(model: Any, sets: Values) -> Tuple[Values, str]:
    """Every tensor onnx's reference evaluator computes, node by node, per input set (``{}`` where it is absent)."""
    import onnx
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        return [dict(s) for s in sets], ""
    from onnx import helper
    known_constants = constants(model)
    found = []
    for fed in sets:
        known = dict(known_constants, **fed)
        for node in model.graph.node:
            if not all(name in known for name in node.input if name):
                continue
            graph = helper.make_graph([node], "one_node", [onnx.ValueInfoProto(name=n) for n in node.input if n],
                                      [onnx.ValueInfoProto(name=n) for n in node.output if n])
            single = helper.make_model(graph, opset_imports=model.opset_import)
            single.ir_version = model.ir_version
            single.functions.extend(model.functions)
            try:
                got = ReferenceEvaluator(single).run(None, {n: known[n] for n in node.input if n})
            except Exception:  # noqa: BLE001  (this node's values stay unknown, and what needs them)
                continue
            known.update((n, numpy.asarray(v)) for n, v in zip([n for n in node.output if n], got))
        found.append(known)
    return found, "onnx.reference %s" % onnx.__version__


def runtime_values(model: Any, code: Dict[str, Any], sets: Values, scratch: str) -> Optional[Values]:
    """Every tensor the runtime computes with all of them made outputs; None where the whole file does not run."""
    import onnx
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    present = {o.name for o in exposed.graph.output}
    for node in exposed.graph.node:
        exposed.graph.output.extend(onnx.ValueInfoProto(name=n) for n in node.output if n and n not in present)
    path = os.path.join(scratch, "exposed.onnx")
    onnx.save(exposed, path)
    names = [o.name for o in exposed.graph.output]
    try:
        session = code["load_model"](path)
        return [dict(zip(names, [numpy.asarray(v) for v in code["run_model"](session, list(fed.values()))]))
                for fed in sets]
    except Exception:  # noqa: BLE001  (the file does not run whole here: the reference's values are all there is)
        return None


class Subgraphs(object):
    """Candidate models of a node subset: onnx.utils.Extractor where this onnx has it, else the same cut by hand."""

    def __init__(self, model: Any, values: Values) -> None:
        import onnx
        from onnx import shape_inference
        self.model = model
        self.nodes = list(model.graph.node)
        self.producer = {n: i for i, node in enumerate(self.nodes) for n in node.output if n}
        self.graph_inputs = {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer}
        self.constant = self._constant_nodes()
        typed = shape_inference.infer_shapes(model)
        known = {v.name for v in list(typed.graph.value_info) + list(typed.graph.input) + list(typed.graph.output)}
        for name, value in values[0].items():  # what shape inference left untyped gets the real value's type
            if name not in known:
                typed.graph.value_info.extend([value_info(name, value, [s.get(name) for s in values])])
                known.add(name)
        for node in self.nodes:  # and a bare entry where nothing knows it (an output the runtime will type)
            typed.graph.value_info.extend(onnx.ValueInfoProto(name=n) for n in node.output if n and n not in known)
        self.typed = typed
        try:
            from onnx.utils import Extractor
            self.extractor = Extractor(typed)
        except ImportError:  # onnx < 1.8 (torch 1.4's era)
            self.extractor = None
        self.tool = "onnx.utils.Extractor" if self.extractor is not None else "a cut like onnx.utils.Extractor's"

    def _constant_nodes(self) -> set:
        """Nodes whose inputs are all constants (initializers or constant nodes' outputs), in topological order."""
        initializers = {i.name for i in self.model.graph.initializer}
        found = set()
        for index, node in enumerate(self.nodes):
            subgraphs = any(a.g.node or a.graphs for a in node.attribute)  # a body may read the outer scope
            if not subgraphs and all(n in initializers or self.producer.get(n) in found for n in node.input if n):
                found.add(index)
        return found

    def closure(self, chosen: Sequence[int]) -> List[int]:
        """``chosen`` with the constant nodes that feed it, in topological order."""
        kept = set(chosen)
        for index in sorted(kept, reverse=True):
            stack = [index]
            while stack:
                for name in self.nodes[stack.pop()].input:
                    source = self.producer.get(name)
                    if source is not None and source in self.constant and source not in kept:
                        kept.add(source)
                        stack.append(source)
        return sorted(kept)

    def cut(self, chosen: Sequence[int]) -> Tuple[List[str], List[str], List[int]]:
        """(inputs, outputs, nodes) of a subset: what it reads from outside, what it makes that nothing in it uses."""
        nodes = self.closure(chosen)
        made = {n for i in nodes for n in self.nodes[i].output if n}
        used = {n for i in nodes for n in self.nodes[i].input if n}
        initializers = {i.name for i in self.model.graph.initializer}
        inputs = [n for n in dict.fromkeys(n for i in nodes for n in self.nodes[i].input if n)
                  if n not in made and n not in initializers]
        graph_outputs = {o.name for o in self.model.graph.output}
        outputs = [n for i in nodes for n in self.nodes[i].output if n and (n not in used or n in graph_outputs)]
        return inputs, outputs, nodes

    def model_of(self, inputs: List[str], outputs: List[str], nodes: List[int]) -> Any:
        if self.extractor is not None:
            extracted = self.extractor.extract_model(inputs, outputs)
        else:
            extracted = self._by_hand(inputs, outputs, nodes)
        extracted.ir_version = self.model.ir_version  # the runtime reads the file's IR, not this onnx's newest
        del extracted.opset_import[:]
        extracted.opset_import.extend(self.model.opset_import)
        if getattr(self.model, "functions", None):  # onnx < 1.10 has none; the file's own, in its order
            del extracted.functions[:]
            extracted.functions.extend(self.model.functions)
        return extracted

    def _by_hand(self, inputs: List[str], outputs: List[str], nodes: List[int]) -> Any:
        from onnx import helper
        infos = {v.name: v for v in list(self.typed.graph.value_info) + list(self.typed.graph.input)
                 + list(self.typed.graph.output)}
        used = {n for i in nodes for n in self.nodes[i].input}
        graph = helper.make_graph([self.nodes[i] for i in nodes], self.model.graph.name or "reduced",
                                  [infos[n] for n in inputs], [infos[n] for n in outputs],
                                  [t for t in self.model.graph.initializer if t.name in used])
        return helper.make_model(graph, opset_imports=self.model.opset_import)


def value_info(name: str, value: numpy.ndarray, seen: List[Optional[numpy.ndarray]]) -> Any:
    """A tensor's type from its real values: a dimension that differs between input sets is left symbolic."""
    from onnx import helper
    to_onnx = getattr(helper, "np_dtype_to_tensor_dtype", None)
    if to_onnx is not None:
        elem = to_onnx(value.dtype)
    else:
        from onnx import mapping
        elem = mapping.NP_TYPE_TO_TENSOR_TYPE[value.dtype]
    shape = []
    for axis, size in enumerate(value.shape):
        sizes = {s.shape[axis] for s in seen if s is not None and s.ndim == value.ndim}
        shape.append(size if len(sizes) == 1 else "d%d" % axis)
    return helper.make_tensor_value_info(name, elem, shape)


class Judge(object):
    """How a candidate fails, run with the runtime's recorded code on every input set."""

    def __init__(self, code: Dict[str, Any], values: Values, oracle: Values, atol: float, rtol: float,
                 scratch: str) -> None:
        self.code, self.values, self.oracle = code, values, oracle
        self.atol, self.rtol = atol, rtol
        self.path = os.path.join(scratch, "candidate.onnx")
        self.tries = 0

    def feeds(self, inputs: List[str]) -> Optional[List[List[numpy.ndarray]]]:
        """Each set's values of ``inputs``; None where one is unknown (nothing computed it)."""
        if not all(n in s for s in self.values for n in inputs):
            return None
        return [[s[n] for n in inputs] for s in self.values]

    def outcome(self, model: Any, inputs: List[str], outputs: List[str],
                path: Optional[str] = None) -> Optional[Tuple[str, str]]:
        """(status, normalised message) of ``model`` (already at ``path``, else saved to a scratch file); None
        when it cannot be fed."""
        import onnx
        sets = self.feeds(inputs)
        if sets is None:
            return None
        self.tries += 1
        if path is None:
            path = self.path
            onnx.save(model, path)
        paths = [path, os.path.basename(path)]
        try:
            session = self.code["load_model"](path)
        except Exception as exc:  # noqa: BLE001  (any failure of the runtime is an outcome)
            return LOAD_FAIL, normalised(describe(exc), paths)
        for index, arrays in enumerate(sets):
            try:
                got = self.code["run_model"](session, arrays)
            except Exception as exc:  # noqa: BLE001
                return RUN_FAIL, normalised(describe(exc), paths)
            known = [(g, self.oracle[index][n]) for g, n in zip(got, outputs) if n in self.oracle[index]]
            differs = mismatch([g for g, _ in known], [w for _, w in known], self.atol, self.rtol)
            if differs:
                return DIVERGE, differs
        return PASS, ""


def same_way(found: Optional[Tuple[str, str]], wanted: Tuple[str, str]) -> bool:
    """A divergence is any divergence beyond tolerance; a failure is the same stage with the same message."""
    if found is None or found[0] != wanted[0]:
        return False
    return found[0] == DIVERGE or found[1] == wanted[1]


def shrink(graphs: Subgraphs, judge: Judge, wanted: Tuple[str, str]) -> List[int]:
    """The smallest subset of nodes found that fails as ``wanted``: bisect the range's end, then its start, then
    drop single nodes (last first) while it still fails. Constant nodes come along with what they feed."""
    work = [i for i in range(len(graphs.nodes)) if i not in graphs.constant] or list(range(len(graphs.nodes)))

    def fails(chosen: Sequence[int]) -> bool:
        if not chosen:
            return False
        inputs, outputs, nodes = graphs.cut(chosen)
        if not outputs:
            return False
        return same_way(judge.outcome(graphs.model_of(inputs, outputs, nodes), inputs, outputs), wanted)

    low, high = 1, len(work)  # the shortest prefix that fails: bisect its end
    while low < high:
        middle = (low + high) // 2
        if fails(work[:middle]):
            high = middle
        else:
            low = middle + 1
    end = high if fails(work[:high]) else len(work)
    low, high = 0, end - 1  # then the latest start that still fails
    while low < high:
        middle = (low + high + 1) // 2
        if fails(work[middle:end]):
            low = middle
        else:
            high = middle - 1
    chosen = work[low:end] if fails(work[low:end]) else work[:end]
    changed = True
    while changed and len(chosen) > 1:  # linear: each node that can go, goes
        changed = False
        for index in list(reversed(chosen)):
            rest = [i for i in chosen if i != index]
            if fails(rest):
                chosen, changed = rest, True
    return chosen


def save_sets(path: str, inputs: List[str], outputs: List[str], values: Values, oracle: Values) -> None:
    """The reduced model's inputs per set (``input_<i>``, then ``batch_input_<i>``), and the reference's values
    of its outputs where known (``output_<i>``, ``batch_output_<i>``): the worker's own file layout."""
    arrays = {}
    for prefix, fed, known in zip(SETS, values, oracle):
        for index, name in enumerate(inputs):
            arrays["%s_%d" % (prefix, index)] = fed[name]
        for index, name in enumerate(outputs):
            if name in known:
                arrays["%s_%d" % (prefix.replace("input", "output"), index)] = known[name]
    numpy.savez(path, **arrays)


def node_list(graphs: Subgraphs, nodes: Sequence[int]) -> List[Dict[str, Any]]:
    return [{"index": i, "op_type": graphs.nodes[i].op_type, "name": graphs.nodes[i].name,
             "domain": graphs.nodes[i].domain, "inputs": list(graphs.nodes[i].input),
             "outputs": list(graphs.nodes[i].output)} for i in nodes]


def gather_values(path: str, model: Any, data: Optional[str], given: Optional[str], code: Optional[Dict[str, Any]],
                  scratch: str) -> Tuple[Values, Values, Dict[str, Any]]:
    """(values, the reference's share of them, where they came from) for every input set."""
    sets = input_sets(model, data)
    oracle, source = reference_values(model, sets)
    if given:  # computed by another environment's reference evaluator (this onnx has none)
        with numpy.load(given, allow_pickle=False) as saved:
            names = [str(n) for n in saved["names"]]
            for index, known in enumerate(oracle):
                known.update((n, saved["s%d_%d" % (index, k)]) for k, n in enumerate(names)
                             if "s%d_%d" % (index, k) in saved)
            source = str(saved["source"])
    values = [dict(s) for s in oracle]
    filled = runtime_values(model, code, sets, scratch) if code is not None else None
    for known, extra in zip(values, filled or []):
        for name, value in extra.items():
            known.setdefault(name, value)
    tensors = {n for node in model.graph.node for n in node.output if n}
    where = {"reference": source or None, "reference_tensors": len(tensors & set(oracle[0])),
             "runtime_tensors": len(tensors & (set(values[0]) - set(oracle[0]))),
             "unknown_tensors": len(tensors - set(values[0])), "input_sets": len(sets)}
    return values, oracle, where


def write_values(path: str, data: Optional[str], out: str) -> Dict[str, Any]:
    """``values`` mode: the reference evaluator's intermediate values, for an environment whose onnx has none."""
    import onnx
    model = onnx.load(path)
    oracle, source = reference_values(model, input_sets(model, data))
    if not source:
        raise SystemExit("onnx %s has no reference evaluator (onnx >= 1.13)" % onnx.__version__)
    names = sorted({n for known in oracle for n in known})
    arrays = {"s%d_%d" % (i, k): known[n] for i, known in enumerate(oracle) for k, n in enumerate(names) if n in known}
    numpy.savez(out, names=numpy.array(names), source=numpy.array(source), **arrays)
    return {"values": len(names), "source": source}


def runtime_source(name: str) -> str:
    """A runtime adapter's code in this environment (a bare file has no recorded call): by its --runtimes name or
    its rows' runtime name (the host-CPU one where both fit: ``onnxruntime`` is ort-cpu)."""
    from matrix.adapters import RUNTIMES
    fits = [a for a in RUNTIMES.values() if name in (a.name, a.runtime)]
    fits.sort(key=lambda a: a.device)
    if not fits:
        raise SystemExit("no runtime %r: one of %s" % (name, ", ".join(sorted(RUNTIMES))))
    caps = fits[0].probe()
    missing = fits[0].unavailable(caps)
    if missing:
        raise SystemExit("%s cannot run here: %s" % (fits[0].name, missing))
    return fits[0].source(caps)


def code_source(args: argparse.Namespace) -> str:
    return runtime_source(args.runtime) if args.runtime else open(args.runtime_code, encoding="utf-8").read()


def reduce_file(args: argparse.Namespace) -> Dict[str, Any]:
    """``reduce`` mode: the baseline (the whole file), then the search; writes the reduced model and its inputs."""
    import onnx
    started = time.monotonic()
    model = onnx.load(args.model)
    code = {"__name__": "runtime_call"}  # the runtime's recorded code, run as the worker's stages run it
    args.source = code_source(args)
    exec(compile(args.source, "runtime_call", "exec"), code)
    scratch = tempfile.mkdtemp(prefix=".reduce-", dir=args.out)
    try:
        return _reduce_in(args, model, code, scratch, started)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _reduce_in(args: argparse.Namespace, model: Any, code: Dict[str, Any], scratch: str,
               started: float) -> Dict[str, Any]:
    import onnx
    values, oracle, where = gather_values(args.model, model, args.data, args.values, code, scratch)
    judge = Judge(code, values, oracle, args.atol, args.rtol, scratch)
    graph_inputs = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    graph_outputs = [o.name for o in model.graph.output]
    baseline = judge.outcome(model, graph_inputs, graph_outputs, path=os.path.abspath(args.model))
    result = {"model": os.path.basename(args.model), "runtime_call": args.source,
              "nodes_before": len(model.graph.node), "values": where,
              "baseline": {"status": baseline[0], "message": baseline[1]} if baseline else None,
              "onnx": onnx.__version__, "python": "%d.%d.%d" % sys.version_info[:3]}
    if baseline is None or baseline[0] == PASS:
        result.update(reduced=False, seconds=round(time.monotonic() - started, 2))
        return result
    graphs = Subgraphs(model, values)
    chosen = shrink(graphs, judge, baseline)
    inputs, outputs, nodes = graphs.cut(chosen)
    reduced = graphs.model_of(inputs, outputs, nodes)
    onnx.save(reduced, os.path.join(args.out, "reduced.onnx"))
    save_sets(os.path.join(args.out, "inputs.npz"), inputs, outputs, values, oracle)
    final = judge.outcome(reduced, inputs, outputs, path=os.path.join(args.out, "reduced.onnx"))
    result.update(reduced=True, tool=graphs.tool, nodes_after=len(nodes), nodes=node_list(graphs, nodes),
                  inputs=inputs, outputs=outputs, tries=judge.tries, seconds=round(time.monotonic() - started, 2),
                  final={"status": final[0], "message": final[1]} if final else None,
                  same=same_way(final, baseline))
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matrix.worker.reduce")
    parser.add_argument("mode", choices=("values", "reduce"))
    parser.add_argument("model")
    parser.add_argument("data", help="the cell's inputs (.npz as the worker saves them), or '' for random ones")
    parser.add_argument("out", help="values: the .npz to write; reduce: the folder to write into")
    parser.add_argument("--runtime-code", help="the runtime's load_model/run_model source (a row's runtime_call)")
    parser.add_argument("--runtime", help="else this runtime adapter's code here (ort-cpu, onnxruntime, ov-cpu, ...)")
    parser.add_argument("--values", help="intermediate values another environment computed")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--rtol", type=float, default=1e-3)
    args = parser.parse_args(argv)
    args.data = args.data or None
    if args.mode == "values":
        result = write_values(args.model, args.data, args.out)
    else:
        result = reduce_file(args)
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
