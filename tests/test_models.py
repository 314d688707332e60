"""The model corpus (cases/models) and dynamic shapes as cases declare them: the contract's ``dynamic`` fields, their
mapping to each exporter's arguments, and one real run that catches a shape baked into an exported file."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from matrix.adapters.exporters import DynamicError, Dynamo, TorchScript, dynamic_plan, torch_export_source
from matrix.wire import Case, CaseError
from matrix.wire.row import SCHEMA_VERSION, Row, migrate
from matrix.worker.discovery import case_files, load_all

NAMES = {"exporters": ["torchscript", "dynamo"], "runtimes": ["onnxruntime"], "providers": ["CPUExecutionProvider"]}
IO = {"inputs": ["input_0", "input_1", "input_2"], "outputs": ["output_0"]}


def case(**fields):
    return Case(title="t", pitfall="p", corpus="models", **fields)


def test_a_declaration_is_kept_and_turns_dynamic_axes_on():
    declared = case(dynamic={"x": {0: "batch", 1: "seq"}, 1: [{0: "batch"}, None], 2: None},
                    dynamic_outputs={0: {0: "batch"}})
    assert declared.dynamic == {"x": {0: "batch", 1: "seq"}, 1: [{0: "batch"}, None], 2: None}
    assert declared.option_grid() == [{"dynamic_axes": True}]  # declared axes are exported as declared
    swept = case(dynamic={0: {0: "batch"}}, options={"dynamic_axes": [False, True]})
    assert swept.option_grid() == [{"dynamic_axes": False}, {"dynamic_axes": True}]
    assert case().option_grid() == [{}]  # a case that declares nothing is as before
    # the catalogue is JSON: positions become text keys, so mixed keys still dump sorted
    assert json.dumps(declared.to_dict(), sort_keys=True)
    assert declared.to_dict()["dynamic"]["1"] == [{"0": "batch"}, None]


@pytest.mark.parametrize("fields, message", [
    ({"dynamic": ["x"]}, "Case.dynamic must be a non-empty dict"),
    ({"dynamic": {}}, "Case.dynamic must be a non-empty dict"),
    ({"dynamic": {True: {0: "batch"}}}, "must be forward's argument position"),
    ({"dynamic": {-1: {0: "batch"}}}, "must be forward's argument position"),
    ({"dynamic": {"2x": {0: "batch"}}}, "must be forward's argument position"),
    ({"dynamic": {0: {-1: "batch"}}}, "axis -1 must be an int >= 0"),
    ({"dynamic": {0: {"0": "batch"}}}, "axis '0' must be an int >= 0"),
    ({"dynamic": {0: {0: "batch size"}}}, "must be an identifier"),
    ({"dynamic": {0: {0: 3}}}, "must be an identifier"),
    ({"dynamic": {0: {}}}, "must be a non-empty dict {axis: name}"),
    ({"dynamic": {0: [{0: "n"}, "batch"]}}, "Case.dynamic[0][1] must be a non-empty dict"),
    ({"dynamic_outputs": {"output_0": {0: "batch"}}}, "must be an output's position"),
    ({"dynamic_outputs": {0: {0: ""}}}, "must be an identifier"),
    ({"dynamics": {0: {0: "batch"}}}, "did you mean 'dynamic'"),
])
def test_bad_declarations_are_refused_when_the_case_loads(fields, message):
    with pytest.raises(CaseError, match=message.replace("[", r"\[").replace("{", r"\{")):
        case(**fields)


def test_a_variant_declares_its_own_axes_and_a_derived_length():
    """A decoder's generation step takes other inputs than its plain forward: its variant says its own axes, one of
    them one longer than another ('past+1': the mask covers the cache and the new token)."""
    step = {"dynamic": {"input_ids": {0: "batch"}, "mask": {0: "batch", 1: "past+1"}, "key": {0: "batch", 2: "past"}},
            "dynamic_outputs": {0: {0: "batch"}}}
    declared = case(dynamic={0: {0: "batch", 1: "seq"}}, variant_dynamic={"kv_cache": step})
    assert declared.declared("kv_cache") == (step["dynamic"], step["dynamic_outputs"])
    assert declared.declared("default") == ({0: {0: "batch", 1: "seq"}}, None)
    assert case(variant_dynamic={"kv_cache": step}).option_grid() == [{"dynamic_axes": True}]
    assert json.dumps(declared.to_dict(), sort_keys=True)
    with pytest.raises(CaseError, match="names 'kv_cache', not a variant of the module"):
        declared.check_names(["default"], NAMES["exporters"], NAMES["runtimes"], NAMES["providers"])
    declared.check_names(["default", "kv_cache"], NAMES["exporters"], NAMES["runtimes"], NAMES["providers"])


@pytest.mark.parametrize("variant_dynamic, message", [
    ([], "Case.variant_dynamic must be a non-empty dict"),
    ({"kv_cache": {}}, r"Case.variant_dynamic\['kv_cache'\] must be a variant's name with a non-empty dict"),
    ({"kv_cache": {"dynamics": {0: {0: "b"}}}}, "unknown key"),
    ({"kv_cache": {"dynamic": {0: {0: "past+0"}}}}, "must be an identifier like 'batch' or 'seq', or one plus"),
    ({"kv_cache": {"dynamic_outputs": {"x": {0: "b"}}}}, "must be an output's position"),
])
def test_bad_variant_declarations_are_refused(variant_dynamic, message):
    with pytest.raises(CaseError, match=message):
        case(variant_dynamic=variant_dynamic)


def test_a_derived_axis_is_a_dim_plus_a_number_for_dynamo_and_a_name_for_torchscript():
    plan = dynamic_plan({0: {0: "batch", 1: "past+1"}, 1: {0: "batch", 2: "past"}}, None, [2, 4], ["mask", "key"], [2])
    named = dict(IO, inputs=["input_0", "input_1"], dynamic_axes=plan["axes"], dynamic_shapes=plan["shapes"])
    caps = {"api": "export(dynamo=True)", "export_parameters": ["model", "args", "dynamic_shapes"], "save_parameters": []}
    source = Dynamo().source(18, {"dynamic_axes": True}, named, caps, scripted=False)
    compile(source, "<export>", "exec")
    # the base is defined before the dim derived from it, whichever input names it first
    assert source.index("dim_past = torch.export.Dim('past')") < source.index("dim_past_plus_1 = dim_past + 1")
    assert "dynamic_shapes=({0: dim_batch, 1: dim_past_plus_1}, {0: dim_batch, 2: dim_past})" in _kwargs_of(source)
    script = _kwargs_of(TorchScript().source(17, {"dynamic_axes": True}, named, {"parameters": ["dynamic_axes"]}, False))
    assert "'input_0': {0: 'batch', 1: 'past+1'}" in script


def test_a_variant_runs_its_own_other_shapes():
    from types import SimpleNamespace

    from matrix.worker.pipeline import variant_shapes
    module = SimpleNamespace(shapes=lambda: "plain", shapes_kv_cache=lambda: "step")
    assert variant_shapes(module, "kv_cache")() == "step" and variant_shapes(module, "default")() == "plain"
    assert variant_shapes(SimpleNamespace(shapes=lambda: "plain"), "scripted")() == "plain"
    assert variant_shapes(SimpleNamespace(shapes=None), "default") is None


def test_a_bad_declaration_names_the_case_file(tmp_path):
    folder = tmp_path / "dynamic_cases_bad"
    folder.mkdir()
    (folder / "baked.py").write_text('from matrix.wire import Case\n'
                                     'CASE = Case(title="t", pitfall="p", dynamic={0: {0: "batch", 1: 7}})\n'
                                     'def build():\n    return None, ()\n')
    loaded, catalogue = load_all([str(folder)], NAMES)
    assert loaded == {} and len(catalogue) == 1
    assert catalogue[0]["error"].startswith("dynamic_cases_bad/baked.py: ") and "axis 1's name 7" in catalogue[0]["error"]


def test_the_plan_maps_positions_names_lists_and_none_to_flattened_inputs():
    # forward(x, xs, mask, scale): a tensor, a list of two tensors, None, a Python number
    layout = [3, [2, 2], None, "number"]
    plan = dynamic_plan({"x": {0: "batch", 1: "seq"}, 1: {0: "batch"}}, {0: {0: "batch"}}, layout,
                        ["x", "xs", "mask", "scale"], [2])
    # the list's elements are input_1 and input_2; None flattens to nothing, so the number is input_3
    assert plan["axes"] == {"input_0": {0: "batch", 1: "seq"}, "input_1": {0: "batch"}, "input_2": {0: "batch"},
                            "output_0": {0: "batch"}}
    assert plan["shapes"] == [{0: "batch", 1: "seq"}, [{0: "batch"}, {0: "batch"}], None, None]
    per_element = dynamic_plan({1: [None, {1: "n"}]}, None, layout, [], [2])
    assert per_element["axes"] == {"input_2": {1: "n"}} and per_element["shapes"][1] == [None, {1: "n"}]


@pytest.mark.parametrize("dynamic, outputs, message", [
    ({"y": {0: "batch"}}, None, "names 'y', not a parameter of forward"),
    ({4: {0: "batch"}}, None, "declares argument 4; forward is given 4"),
    ({0: {3: "batch"}}, None, "has 3 dimension(s): axis 3 does not exist"),
    ({2: {0: "batch"}}, None, "argument 2 (mask) is None"),
    ({3: {0: "batch"}}, None, "argument 3 (scale) is a Python number"),
    ({1: [{0: "batch"}]}, None, "is a list of 2, declared for 1 elements"),
    ({0: [{0: "batch"}]}, None, "is a single tensor, declared as a list of 1"),
    ({0: {0: "batch"}, "x": {1: "seq"}}, None, "declares argument 0 twice"),
    (None, {1: {0: "batch"}}, "declares output 1; the model has 1"),
    (None, {0: {2: "batch"}}, "output 0 has 2 dimension(s): axis 2 does not exist"),
])
def test_a_declaration_that_does_not_fit_the_inputs_says_how(dynamic, outputs, message):
    with pytest.raises(DynamicError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dynamic_plan(dynamic, outputs, [3, [2, 2], None, "number"], ["x", "xs", "mask", "scale"], [2])


PLAN = dynamic_plan({"src": {0: "seq", 1: "batch"}, "mask": {0: "seq", 1: "seq"}}, {0: {0: "seq"}}, [3, 2, None],
                    ["src", "mask", "unused"], [3])
NAMED = dict(IO, inputs=["input_0", "input_1"], dynamic_axes=PLAN["axes"], dynamic_shapes=PLAN["shapes"])


def _kwargs_of(source: str) -> str:
    compile(source, "<export>", "exec")  # the recorded code must be valid Python
    return next(line for line in source.splitlines() if "torch.onnx." in line)


def test_torchscript_gets_the_declared_axes_as_dynamic_axes():
    caps = {"parameters": ["model", "args", "f", "dynamic_axes", "dynamo"]}
    call = _kwargs_of(TorchScript().source(17, {"dynamic_axes": True}, NAMED, caps, scripted=False))
    assert "dynamic_axes={'input_0': {0: 'seq', 1: 'batch'}, 'input_1': {0: 'seq', 1: 'seq'}, " \
           "'output_0': {0: 'seq'}}" in call
    plain = _kwargs_of(TorchScript().source(17, {"dynamic_axes": True}, IO, caps, scripted=False))
    assert "'input_2': {0: 'batch'}, 'output_0': {0: 'batch'}}" in plain  # no declaration: dim 0 of everything
    static = _kwargs_of(TorchScript().source(17, {"dynamic_axes": False}, NAMED, caps, scripted=False))
    assert "dynamic_axes" not in static  # the static column stays static


def test_dynamo_gets_torch_export_dims_where_torch_onnx_export_takes_them():
    caps = {"api": "export(dynamo=True)", "export_parameters": ["model", "args", "dynamic_axes", "dynamic_shapes"],
            "save_parameters": []}
    source = Dynamo().source(18, {"dynamic_axes": True}, NAMED, caps, scripted=False)
    compile(source, "<export>", "exec")
    assert "    dim_seq = torch.export.Dim('seq')\n    dim_batch = torch.export.Dim('batch')\n" in source
    call = _kwargs_of(source)
    # one Dim per name, shared where inputs share it; the None argument gets None
    assert "dynamic_shapes=({0: dim_seq, 1: dim_batch}, {0: dim_seq, 1: dim_seq}, None)" in call
    assert "dynamic_axes" not in call  # both at once is refused by torch
    # torch 2.4's export(dynamo=True) has no dynamic_shapes: its dynamic_axes (a dict) means dynamic_shapes=True
    older = _kwargs_of(Dynamo().source(18, {"dynamic_axes": True}, NAMED, dict(caps, export_parameters=[]), False))
    assert "dynamic_axes={'input_0'" in older and "dynamic_shapes" not in older
    first = Dynamo().source(18, {"dynamic_axes": True}, NAMED, {"api": "dynamo_export"}, scripted=False)
    assert "ExportOptions(dynamic_shapes=True)" in first  # torch 2.1 - 2.3: the bool


def test_torch_export_alone_is_written_with_the_same_dims():
    """After a failed dynamo export the worker runs torch.export alone: the same declared Dims, strict or not."""
    caps = {"torch_export_parameters": ["mod", "args", "kwargs", "dynamic_shapes", "strict"]}
    source = torch_export_source({"dynamic_axes": True}, NAMED, caps)
    compile(source, "<torch.export>", "exec")
    assert "dim_seq = torch.export.Dim('seq')" in source
    assert "torch.export.export(module, tuple(inputs), dynamic_shapes=({0: dim_seq, 1: dim_batch}, " in source
    static = torch_export_source({"dynamic_axes": False}, NAMED, caps)
    assert "Dim" not in static and "torch.export.export(module, tuple(inputs), **extra)" in static
    assert torch_export_source({"dynamic_axes": True}, NAMED, {"torch_export_parameters": None}) is None  # < 2.1


def test_rows_of_the_previous_schema_read_with_the_new_fields_empty():
    old = {"schema_version": 2, "env_id": "e", "cell": "c", "case": "x", "variant": "default", "exporter": "dynamo",
           "runtime": "onnxruntime", "status": "pass", "node_count": 3}
    row = Row.from_dict(old)
    assert SCHEMA_VERSION == 3 and row.schema_version == 3 and row.node_count == 3
    assert (row.dynamic_kept, row.extra_shapes, row.onnx_bytes, row.export_peak_mb) == (None, None, None, None)
    assert migrate(dict(old, schema_version=1))["schema_version"] == 3


def test_every_model_case_declares_its_axes_and_other_shapes():
    """Each model case is in the models corpus, declares dynamic axes and gives other input sets (read as text:
    the host imports no torch)."""
    found = dict(case_files([str(REPO / "cases" / "models")]))
    assert len(found) >= 12
    for case_id, path in found.items():
        text = open(path, encoding="utf-8").read()
        assert 'corpus="models"' in text and "dynamic=" in text and "\ndef shapes():" in text, case_id


def test_model_cases_on_torch_2_13_catch_a_baked_sequence_length(worker_python, tmp_path):
    """The TorchScript exporter of torch 2.13 bakes the traced sequence length into TransformerEncoder's reshapes
    (pytorch#128610's family): the file passes at the traced length and is a batch-fail at another; dynamo keeps
    it symbolic and passes every input set, as does the Embedding model (an empty batch included). The decoder's
    dynamo export fails in torch.export itself (its causal-mask check is data-dependent), strict and not."""
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "here",
                           "--out", str(out), "--opsets", "17", "--runtimes", "ort-cpu", "--time-budget", "0.02",
                           "--cases-dir", str(REPO / "cases" / "models"), "--cases",
                           "^(transformer_encoder|transformer_decoder|embedding)$",
                           "--no-report"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for path in out.glob("runs/*/here.jsonl") for line in path.read_text().splitlines()]
    by = {(r["case"], r["exporter"]): r for r in rows}
    assert len(by) == 6
    baked = by[("transformer_encoder", "torchscript")]
    assert baked["status"] == "batch-fail" and baked["error"].startswith("at input shapes 9x2x16: "), baked["error"]
    assert baked["max_abs_err"] is not None and baked["max_abs_err"] < 1e-4  # right at the traced length
    assert baked["dynamic_declared"] == {"input_0": {"0": "seq", "1": "batch"}, "output_0": {"0": "seq", "1": "batch"}}
    kept = by[("transformer_encoder", "dynamo")]
    assert kept["status"] == "pass" and kept["dynamic_kept"] is True
    assert kept["extra_shapes"] == ["input shapes 9x2x16", "input shapes 4x3x16"]
    assert "dim_seq = torch.export.Dim('seq')" in kept["export_call"]
    decoder = by[("transformer_decoder", "dynamo")]
    assert decoder["status"] == "export-fail" and "torch.export" in decoder["error"]
    assert "data-dependent" in decoder["torch_export_strict"] and "data-dependent" in decoder["torch_export_nonstrict"]
    assert str(REPO) not in decoder["error"] and "cases/models/transformer_decoder.py" in decoder["error"]
    assert kept["torch_export_strict"] is None  # torch.export alone runs only where the export failed
    for exporter in ("torchscript", "dynamo"):
        row = by[("embedding", exporter)]
        assert row["status"] == "pass" and row["extra_shapes"][-1] == "input shapes 0x6", row["error"]
        assert row["onnx_bytes"] > 1000 and row["node_count"] > 0 and row["export_peak_mb"] is not None


def test_the_quick_lineup_runs_a_fixed_pair_of_the_model_corpus():
    """`nox -t quick` (the README's main command) has models_quick, and its subset names two model cases that exist."""
    import re
    repo = REPO
    listed = subprocess.run([sys.executable, "-m", "nox", "-t", "quick", "-l", "--json"], cwd=repo, capture_output=True,
                            text=True, check=True)
    assert "models_quick" in {s["session"] for s in json.loads(listed.stdout)}
    pattern = re.search(r'MODELS_QUICK = r"([^"]+)"', (repo / "noxfile.py").read_text()).group(1)
    cases = [p.stem for p in (repo / "cases" / "models").glob("[!_]*.py")]
    assert sorted(c for c in cases if re.search(pattern, c + "/default")) == ["lstm", "transformer_encoder"]
