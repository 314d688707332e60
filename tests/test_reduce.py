"""``reduce`` (the smallest subgraph that fails the same way) and ``bug`` (the issue-ready report).

The slow tests reduce real failing files with real runtimes: one built here with onnx's helper (a chain whose
Squeeze fails onnxruntime's load, and one whose Reshape fails at run time on an intermediate value only the
reference evaluator gives), and torch 1.4's own export of the squeeze pitfall, in its own environment. The fast
ones are the bad inputs and ``bug`` on fixed rows.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from matrix.results.rows import append_row
from matrix.results.store import RunDir
from matrix.wire import Row

SQUEEZE_CELL = "squeeze_non_one/default/torchscript/opset9/default/onnxruntime/CPUExecutionProvider"


def matrix(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "matrix", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=900)


def chain(path, failing: str) -> None:
    """A 9-node file: x -> Relu -> Add -> Mul -> (Squeeze of a dimension of 3 | Reshape to a shape fed at run
    time) -> Relu -> Sigmoid -> Neg -> Abs -> Exp."""
    import numpy
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])]
    two = numpy_helper.from_array(numpy.full([4], 2.0, dtype=numpy.float32), "two")
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Add", ["a", "two"], ["b"]),
             helper.make_node("Mul", ["b", "b"], ["c"])]
    if failing == "squeeze":
        nodes.append(helper.make_node("Squeeze", ["c"], ["d"], axes=[1]))
    else:
        inputs.append(helper.make_tensor_value_info("shape", TensorProto.INT64, [2]))
        nodes.append(helper.make_node("Reshape", ["c", "shape"], ["d"]))
    for index, op in enumerate(["Relu", "Sigmoid", "Neg", "Abs", "Exp"]):
        nodes.append(helper.make_node(op, ["d" if index == 0 else f"e{index - 1}"], [f"e{index}"]))
    graph = helper.make_graph(nodes, "chain", inputs, [helper.make_tensor_value_info("e4", TensorProto.FLOAT, None)],
                              [two])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)]), str(path))


def test_a_load_failure_in_a_chain_of_nine_reduces_to_its_squeeze(tmp_path, worker_python):
    chain(tmp_path / "chain.onnx", "squeeze")
    out = tmp_path / "reduced"
    done = matrix("reduce", tmp_path / "chain.onnx", "--runtime", "ort-cpu", "--python", worker_python, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert (result["nodes_before"], result["nodes_after"]) == (9, 1)
    assert [n["op_type"] for n in result["nodes"]] == ["Squeeze"]
    assert result["final"]["status"] == result["baseline"]["status"] == "load-fail"
    assert result["signature"] == result["row_signature"] or result["row_signature"] is None
    assert "Squeeze" in result["final"]["message"] and "same failure" in done.stdout
    # the repro needs only onnx, numpy and onnxruntime, and prints the same error
    repro = subprocess.run([worker_python, str(out / "repro.py")], capture_output=True, text=True, timeout=120)
    assert repro.returncode == 1
    assert "status: load-fail" in repro.stdout and "Dimension of input 1 must be 1 instead of 3" in repro.stdout
    assert "import torch" not in (out / "repro.py").read_text()


def test_a_run_failure_is_fed_the_reference_evaluators_intermediate_values(tmp_path, worker_python):
    import numpy
    chain(tmp_path / "chain.onnx", "reshape")
    rng = numpy.random.RandomState(0)
    # two input sets, each fed to every candidate: both reshape 24 values to 25
    numpy.savez(tmp_path / "inputs.npz", input_0=rng.rand(2, 3, 4).astype("float32"), input_1=numpy.array([5, 5]),
                batch_input_0=rng.rand(2, 3, 4).astype("float32"), batch_input_1=numpy.array([5, 5]))
    out = tmp_path / "reduced"
    done = matrix("reduce", tmp_path / "chain.onnx", "--runtime", "onnxruntime", "--inputs", tmp_path / "inputs.npz",
                  "--python", worker_python, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert [n["op_type"] for n in result["nodes"]] == ["Reshape"]
    assert result["inputs"] == ["c", "shape"]  # the Mul's output, computed, fed at the cut
    assert result["final"]["status"] == "run-fail" and result["values"]["input_sets"] == 2
    assert result["values"]["reference"].startswith("onnx.reference")
    with numpy.load(out / "inputs.npz") as saved:
        x = numpy.load(tmp_path / "inputs.npz")["input_0"]
        assert numpy.allclose(saved["input_0"], (numpy.maximum(x, 0) + 2) ** 2)
        assert "batch_input_0" in saved
    repro = subprocess.run([worker_python, str(out / "repro.py")], capture_output=True, text=True, timeout=120)
    assert repro.returncode == 1 and "status: run-fail" in repro.stdout


def test_torch14s_own_squeeze_export_reduces_in_its_environment(tmp_path, torch14_out, torch14_python):
    out = tmp_path / "reduced"
    done = matrix("reduce", SQUEEZE_CELL, "--from", torch14_out, "--env", "torch-1.4.0", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert result["nodes_before"] == 3 and result["nodes_after"] == 1 and result["onnx"] == "1.6.0"
    assert result["signature"] == result["row_signature"]  # the row's own error signature, again
    repro = subprocess.run([torch14_python, str(out / "repro.py")], capture_output=True, text=True, timeout=120)
    assert "must be 1 instead of 3" in repro.stdout
    bug = matrix("bug", SQUEEZE_CELL, "--from", torch14_out, "--reduced", out)
    assert bug.returncode == 0 and "**1 of 3 nodes**" in bug.stdout


def write_rows(out, env, *rows):
    run = RunDir(out, "r1")
    for fields in rows:
        base = dict(run_id="r1", env_id=env, case="squeeze_non_one", variant="default", exporter="torchscript",
                    opset_requested=9, opset_actual=9, provider="CPUExecutionProvider", runtime="onnxruntime",
                    export_sha256="abc", torch="1.4.0", onnx="1.6.0", onnxruntime="1.1.0", python="3.7.16")
        base.update(fields)
        base["cell"] = base.get("cell") or f"squeeze_non_one/default/torchscript/opset9/default/{base['runtime']}/" \
            f"{base['provider']}" + (f"@{base['runtime_env']}" if base.get("runtime_env") else "")
        append_row(run.rows_file(env, replay=bool(base.get("runtime_env"))), Row(**base).to_dict())


SQUEEZE_ERROR = "[ONNXRuntimeError] : 1 : FAIL : Node () Op (Squeeze) [ShapeInferenceError] Dimension of input 1 " \
                "must be 1 instead of 3"


def test_a_cell_that_matches_nothing_names_the_nearest(tmp_path):
    write_rows(tmp_path, "torch-1.4.0", dict(status="load-fail", error=SQUEEZE_ERROR))
    done = matrix("reduce", SQUEEZE_CELL.replace("opset9", "opset10"), "--from", tmp_path, "--out", tmp_path / "x")
    assert done.returncode == 2 and "nearest: " + SQUEEZE_CELL in done.stderr
    assert not (tmp_path / "x").exists()


def test_a_passing_cell_has_nothing_to_reduce_and_a_bad_file_is_named(tmp_path):
    write_rows(tmp_path, "torch-2.13.0", dict(status="pass"))
    done = matrix("reduce", SQUEEZE_CELL, "--from", tmp_path, "--out", tmp_path / "x")
    assert done.returncode == 2 and "passed in torch-2.13.0: nothing to reduce" in done.stderr
    (tmp_path / "notes.onnx").write_text("not a model\n")
    bad = matrix("reduce", tmp_path / "notes.onnx", "--runtime", "ort-cpu", "--out", tmp_path / "x")
    assert bad.returncode == 2 and "notes.onnx: not an ONNX file" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
    assert matrix("bug", SQUEEZE_CELL, "--from", tmp_path).returncode == 2


@pytest.mark.parametrize("others, whose, upstream", [
    ({"openvino": "pass", "reference": "pass"}, "runtime", "microsoft/onnxruntime"),
    ({"openvino": "load-fail", "reference": "run-fail"}, "exporter", "pytorch/pytorch (torch.onnx)"),
    ({"openvino": "pass", "reference": "run-fail"}, "exporter", "pytorch/pytorch (torch.onnx)"),
    ({}, "undecided", "microsoft/onnxruntime"),
])
def test_bug_says_whose_bug_from_the_replays_of_the_same_file(tmp_path, others, whose, upstream):
    providers = {"openvino": "CPU", "reference": "onnx.reference"}
    write_rows(tmp_path, "torch-1.4.0", dict(status="load-fail", error=SQUEEZE_ERROR, stage="load"))
    for runtime, status in others.items():
        write_rows(tmp_path, "torch-1.4.0", dict(runtime=runtime, provider=providers[runtime], status=status,
                                                 runtime_env="torch-2.15.0", runtime_version="9.9"))
    done = matrix("bug", SQUEEZE_CELL, "--from", tmp_path, "--reduced", tmp_path / "none")
    assert done.returncode == 0, done.stderr
    assert f"**Whose bug: {whose}**" in done.stdout and f"File it with **{upstream}**" in done.stdout
    assert "| onnx | 1.6.0 |" in done.stdout and "Not reduced yet" in done.stdout
    assert SQUEEZE_ERROR in done.stdout


def test_bug_says_a_runtime_fixed_it_where_its_newest_release_runs_the_file(tmp_path):
    write_rows(tmp_path, "torch-1.4.0", dict(status="load-fail", error=SQUEEZE_ERROR, onnxruntime="1.1.0"),
               dict(status="pass", runtime_env="torch-2.15.0", runtime_version="1.32.0"))
    out = tmp_path / "bug.md"
    assert matrix("bug", SQUEEZE_CELL, "--from", tmp_path, "--env", "torch-1.4.0", "--out", out).returncode == 0
    text = out.read_text()
    assert "**Whose bug: runtime, fixed**" in text and "onnxruntime CPU 1.32.0 runs the file that 1.1.0 fails" in text


# Export errors as published rows hold them (results/runs and results/ops), each with the op it names
POLYGAMMA = (
    "Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to ONNX. Next "
    "steps:\n- If there is a missing ONNX function, implement it and register it to the registry.\n\n## Exception "
    "summary\n\n<class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for "
    "<OpOverload(op='aten.polygamma', overload='default')>. Failure message: No decompositions registered for the "
    "real-valued input\n⬆️\n<class 'torch.onnx._internal.exporter._errors.ConversionError'>: Error when translating "
    "node %polygamma : [num_users=1] = call_function[target=torch.ops.aten.polygamma.default](args = (1, %inputs_0), "
    "kwargs = {}). See the stack trace for more information.")
INDEX_PUT_9 = (
    "Unsupported: ONNX export of index_put in opset 9. Please try opset version 11.  [Caused by the value '0 defined "
    "in (%0 : Float(4, 3, strides=[3, 1], requires_grad=0, device=cpu), %1 : Float(2, 3, strides=[3, 1], "
    "requires_grad=0, device=cpu), %index : Long(2, strides=[1], requires_grad=0, device=cpu) = prim::Param()\n)' "
    "(type 'Tensor') in the TorchScript graph. The containing node has kind 'prim::Param'.] \n\n    Inputs:\n")


@pytest.mark.parametrize("error, op", [
    ("Exporting the operator 'aten::append' to ONNX opset version 9 is not supported. Support for this operator was "
     "added in version 11, try exporting with this version", "append"),
    ("Exporting the operator 'aten::scatter_reduce' to ONNX opset version 7 is not supported. Support for this "
     "operator was added in version 16, try exporting with this version", "scatter_reduce"),
    ("Exporting the operator index_add to ONNX opset version 9 is not supported", "index_add"),  # torch 1.8's words
    (INDEX_PUT_9, "index_put"),
    ("Unsupported: ONNX export of embedding_bag with per_sample_weights", "embedding_bag"),
    ("ONNX export failed on ATen operator index_add because torch.onnx.symbolic_opset9.index_add does not exist\n"
     "caused by KeyError: 'index_add'", "index_add"),
    (POLYGAMMA, "polygamma"),
    ("<class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for <OpOverload(op='prims"
     ".lgamma', overload='default')>. Failure message: No decompositions registered", "lgamma"),
    ("Failed to export the model to ONNX. Generating SARIF report at 'report_dynamo_export.sarif'.\ncaused by "
     "RuntimeErrorWithDiagnostic: Unsupported FX nodes: {'call_function': ['aten.scatter.src']}. ", "scatter"),
    ("Failed to export the model with torch.export. This is step 1/3 of exporting the model to ONNX.\n\n## Exception "
     "summary\n\n<class 'torch._subclasses.fake_tensor.DataDependentOutputException'>: aten.equal.default", "equal"),
    ("DictIn.forward() missing 1 required positional argument: 'inputs'", None),  # not an op's: the case's inputs
    ("list index out of range", None),
    ("'index_add'", None),  # torch 1.4 says only the KeyError (its warning, where kept, names it)
])
def test_the_failing_op_is_named_from_real_export_errors(error, op):
    from matrix.run.reduce_export import failing_op
    assert failing_op(error) == op


def test_an_ops_frozen_samples_come_from_the_corpus_its_own_case_first():
    from matrix.run.reduce_export import corpus_samples
    samples = corpus_samples("index_put")
    assert samples[0]["case_id"] == "index_put.float32" and samples[0]["sample"]["call"] == "torch.index_put"
    assert {s["case_id"] for s in samples} == {f"index_put.{d}" for d in ("float32", "float16", "int64", "int32", "bool")}
    assert corpus_samples("index_reduce", "index_reduce.prod.int64")[0]["case_id"] == "index_reduce.prod.int64"
    assert corpus_samples("append") == [] and corpus_samples(None) == []


def test_a_signature_drops_a_files_name_but_not_torch_onnx():
    from matrix.run.reduce import signature
    assert signature("cannot load /tmp/x/reduced.onnx: bad") == signature("cannot load model.onnx: bad")
    assert "torch.onnx.symbolic_opset9.index_add" in signature(
        "ONNX export failed on ATen operator index_add because torch.onnx.symbolic_opset9.index_add does not exist")


def test_a_traced_nodes_schema_gives_its_keyword_arguments():
    from matrix.worker.reduce_export import schema_arguments
    assert schema_arguments("aten::clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor") == [
        ("Tensor", "self", False), ("MemoryFormat?", "memory_format", True)]
    assert schema_arguments("aten::index_put_(Tensor(a!) self, Tensor?[] indices, Tensor values, bool accumulate="
                            "False) -> Tensor(a!)")[1:] == [("Tensor?[]", "indices", False), ("Tensor", "values", False),
                                                            ("bool", "accumulate", False)]


def test_bug_shows_an_export_failures_op_and_smallest_module(tmp_path):
    write_rows(tmp_path, "torch-2.13.0", dict(case="inplace_index_assign", status="export-fail", stage="export",
                                              error=INDEX_PUT_9, cell=INDEX_CELL, runtime="onnxruntime"))
    folder = tmp_path / "reduced"
    folder.mkdir()
    result = {"kind": "export", "cell": INDEX_CELL, "op": "index_put", "op_from": "the export error", "torch": "2.13.0",
              "row_signature": "Unsupported: ONNX export of index_put in opset N. Please try opset version N",
              "candidates": [{"source": "corpus"}, {"source": "trace"}],
              "module": {"case_id": "index_put.float32", "call": "torch.index_put", "status": "export-fail",
                         "message": "Unsupported: ONNX export of index_put in opset 9."},
              "published": {"cell": "index_put.float32/default/torchscript/opset9/default/onnxruntime/"
                                    "CPUExecutionProvider", "status": "export-fail",
                            "signature": "Unsupported: ONNX export of index_put in opset N. Please try opset version N"}}
    (folder / "result.json").write_text(json.dumps(result))
    done = matrix("bug", INDEX_CELL, "--from", tmp_path, "--reduced", folder)
    assert done.returncode == 0, done.stderr
    assert "Failing op: **`index_put`** (named by the export error); 2 one-op module(s)" in done.stdout
    assert "frozen sample `index_put.float32`" in done.stdout and "is export-fail with the same signature" in done.stdout
    assert "**Whose bug: exporter**" in done.stdout


INDEX_CELL = "inplace_index_assign/default/torchscript/opset9/default/onnxruntime/CPUExecutionProvider"


def test_a_real_export_failure_reduces_to_the_corpus_sample_of_its_op(tmp_path, worker_python):
    """torch 2.13's TorchScript exporter refuses index_put at opset 9 (inplace_index_assign's published row): the op
    is named from the error, the corpus's index_put.float32 fails the same way (as its published row does), and the
    repro prints the same error from a folder with nothing of the repository in it."""
    write_rows(tmp_path, "torch-2.13.0", dict(case="inplace_index_assign", status="export-fail", stage="export",
                                              error=INDEX_PUT_9, cell=INDEX_CELL, torch="2.13.0",
                                              export_call="import torch\n"))
    out = tmp_path / "reduced"
    done = matrix("reduce", INDEX_CELL, "--from", tmp_path, "--python", worker_python, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout
    result = json.loads((out / "result.json").read_text())
    assert (result["op"], result["op_from"], result["module"]["case_id"]) == ("index_put", "the export error",
                                                                              "index_put.float32")
    assert any(c["source"] == "trace" and c["kind"] == "aten::index_put_" and c["signature"] == result["row_signature"]
               for c in result["candidates"])  # the traced call fails the same way too
    assert result["published"]["status"] == "export-fail" and "smallest module: the operator corpus's" in done.stdout
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "repro.py").write_text((out / "repro.py").read_text())
    repro = subprocess.run([worker_python, "repro.py"], cwd=alone, capture_output=True, text=True, timeout=300,
                           env={"PATH": "/usr/bin:/bin"})
    assert repro.returncode == 1 and "status: export-fail" in repro.stdout, repro.stderr[-2000:]
    assert "Unsupported: ONNX export of index_put in opset 9" in repro.stdout
    bug = matrix("bug", INDEX_CELL, "--from", tmp_path, "--reduced", out)
    assert bug.returncode == 0 and "frozen sample `index_put.float32`" in bug.stdout


def test_torch14s_export_failure_reduces_to_a_one_op_module_of_its_traced_call(tmp_path, torch14_out, torch14_python):
    """torch 1.4 has no symbolic for index_add (index_put_accumulate's workaround at opset 9): the op is named, the
    corpus's index_add samples cannot run in torch 1.4 (alpha came later), so the module kept is the traced call's."""
    cell = "index_put_accumulate/workaround/torchscript/opset9/default/onnxruntime/CPUExecutionProvider"
    out = tmp_path / "reduced"
    done = matrix("reduce", cell, "--from", torch14_out, "--env", "torch-1.4.0", "--out", out)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout
    result = json.loads((out / "result.json").read_text())
    assert result["op"] == "index_add" and result["torch"] == "1.4.0" and result["python"].startswith("3.7")
    assert result["module"]["source"] == "trace" and result["module"]["call"].endswith("index_add")
    assert {c["status"] for c in result["candidates"] if c["source"] == "corpus"} == {"not-built"}
    repro = subprocess.run([torch14_python, str(out / "repro.py")], capture_output=True, text=True, timeout=300)
    assert repro.returncode == 1 and "index_add" in repro.stdout and "status: export-fail" in repro.stdout
