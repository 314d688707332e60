"""``check PATH``: the answer from fixed rows, --require, the generated case, bad input, and one real run."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO

from matrix.commands import main
from matrix.run import usercase
from matrix.views.check import answer, answer_lines, parse_require, select_cells, write_check_page
from matrix.views.frames import current_view
from matrix.wire import ROW_FIELDS
from matrix.wire.contract import case_hash

UNFLATTEN = ("Exporting the operator 'aten::unflatten' to ONNX opset version {} is not supported. Support for this "
             "operator was added in version 13, try exporting with this version")
SDPA = ("Exporting the operator 'aten::scaled_dot_product_attention' to ONNX opset version 13 is not supported. "
        "Support for this operator was added in version 14, try exporting with this version")
PROVIDERS = {"onnxruntime": "CPUExecutionProvider", "reference": "onnx.reference", "caffe2": "CPU"}
VERSIONS = {"onnxruntime": "1.32.0", "reference": "1.23.2", "caffe2": "1.4.0"}


def _row(env: str, torch: str, exporter: str, opset: int, runtime: str, status: str = "pass", error: str | None = None,
         wrote: int | None = None, **extra) -> dict:
    stage = {"pass": None, "export-fail": "export", "load-fail": "load", "build-fail": "build", "skip": None}[status]
    provider = PROVIDERS[runtime]
    row = dict.fromkeys(ROW_FIELDS)
    row.update(env_id=env, torch=torch, case="model", variant="default", exporter=exporter, opset_requested=opset,
               opset_actual=wrote or (opset if status not in ("export-fail", "build-fail") else None),
               runtime=runtime, provider=provider, status=status, stage=stage, error=error, run_id="r1",
               runtime_version=VERSIONS[runtime], case_hash="abc", finished_at="2026-12-01T10:00:00+00:00",
               cell=f"model/default/{exporter}/opset{opset}/default/{runtime}/{provider}", **extra)
    return row


def _transformer_like() -> pd.DataFrame:
    """What torch 1.4.0 and 2.13.0 do with a TransformerEncoder, in miniature (what examples/ measures)."""
    rows = []
    for opset in (9, 11):
        rows.append(_row("torch-1.4.0", "1.4.0", "torchscript", opset, "onnxruntime"))
        rows.append(_row("torch-1.4.0", "1.4.0", "torchscript", opset, "caffe2", "load-fail", "_Map_base::at"))
    for runtime in ("onnxruntime", "reference"):
        rows.append(_row("torch-2.13.0", "2.13.0+cpu", "torchscript", 11, runtime, "export-fail", UNFLATTEN.format(11)))
        rows.append(_row("torch-2.13.0", "2.13.0+cpu", "torchscript", 12, runtime, "export-fail", UNFLATTEN.format(12)))
        rows.append(_row("torch-2.13.0", "2.13.0+cpu", "torchscript", 13, runtime, "export-fail", SDPA))
        rows += [_row("torch-2.13.0", "2.13.0+cpu", "torchscript", o, runtime) for o in (14, 17)]
        # dynamo asked for 13 and 18 writes 18 both times: one cell
        rows += [_row("torch-2.13.0", "2.13.0+cpu", "dynamo", o, runtime, wrote=18) for o in (13, 18)]
    rows.append(_row("torch-2.13.0", "2.13.0+cpu", "torchscript", 14, "caffe2", "skip", "no Caffe2"))
    # another environment's runtime on this file (a replay), and another case: neither is this check's
    rows.append(_row("torch-1.4.0", "1.4.0", "torchscript", 9, "reference", "load-fail", "old", runtime_env="x"))
    other = _row("torch-1.4.0", "1.4.0", "torchscript", 9, "onnxruntime", "load-fail", "no")
    rows.append({**other, "case": "other", "cell": other["cell"].replace("model/", "other/")})
    return select_cells(current_view(pd.DataFrame(rows)), "model", ["torch-1.4.0", "torch-2.13.0"])


def test_the_answer_says_where_it_works_where_it_fails_and_what_to_pin():
    found = _transformer_like()
    assert len(found) == 4 + 10 + 2  # the skip, the replay and the other case are not cells; dynamo is one per runtime
    result = answer(found, [], ["torch-1.4.0", "torch-2.13.0"])
    assert (result["passed"], result["cells"]) == (8, 16)
    assert result["newest"]["text"] == ("torch 2.13.0 · dynamo · opset 18 · onnxruntime CPU "
                                        "(also reference evaluator)")
    assert result["oldest"]["text"] == "torch 1.4.0 · torchscript · opset 9 · onnxruntime CPU"
    lines = {(line["release"], line["exporter"]): line["text"] for line in result["releases"]}
    assert lines[("torch 1.4.0", "torchscript")] == ("works at opset 9, 11 on onnxruntime CPU; "
                                                     "load-fail at opset 9, 11 on Caffe2 (_Map_base::at)")
    assert lines[("torch 2.13.0", "torchscript")] == (
        "works at opset 14, 17 on onnxruntime CPU, reference evaluator; below opset 14: export-fail at opset 11–12 "
        "(aten::unflatten); export-fail at opset 13 (aten::scaled_dot_product_attention)")
    assert lines[("torch 2.13.0", "dynamo")].startswith("works at opset 18")
    groups = [(g["stage"], g["cells"], g["reason"], g["where"]) for g in result["failures"]]
    # most cells first, then the worse status (an export that fails before a file that does not load)
    assert groups == [("export", 4, "aten::unflatten", ["torch 2.13.0 torchscript opset 11–12"]),
                      ("export", 2, "aten::scaled_dot_product_attention", ["torch 2.13.0 torchscript opset 13"]),
                      ("load", 2, "_Map_base::at", ["torch 1.4.0 torchscript opset 9, 11 on Caffe2"])]
    # the newest release, the most runtimes, the highest opset: dynamo's 18 over TorchScript's 17 (both on two)
    assert result["pin"]["pins"] == "torch==2.13.0 onnxruntime==1.32.0"
    assert (result["pin"]["exporter"], result["pin"]["opset"]) == ("dynamo", 18)
    # supported since, read on onnxruntime (Caffe2 never runs it; that is not what the sentence is about)
    assert result["since_words"] == "dynamo: from torch 2.13.0, opset 18 · torchscript: from torch 2.13.0, opset ≥ 14"
    assert answer(found, [], ["torch-1.4.0", "torch-2.13.0", "torch-2.15.0"])["unmeasured"] == ["torch-2.15.0"]
    text = answer_lines(result, "model.py", ["torch-1.4.0", "torch-2.13.0"])
    assert text[0] == "works: 8 of 16 cells pass (model.py in torch-1.4.0, torch-2.13.0)"
    assert text[1].startswith("  newest: torch 2.13.0") and text[2].startswith("  oldest: torch 1.4.0")


def test_require_picks_the_pin_among_the_cells_that_satisfy_it():
    found = _transformer_like()
    held = answer(found, parse_require("torch>=2.6 opset=14 runtime=onnxruntime"), ["torch-1.4.0", "torch-2.13.0"])
    assert held["require"]["holds"] and (held["pin"]["exporter"], held["pin"]["opset"]) == ("torchscript", 14)
    old = answer(found, parse_require("torch<2 exporter=torchscript runtime=ort-cpu"), ["torch-1.4.0", "torch-2.13.0"])
    assert old["require"]["holds"] and old["pin"]["pins"] == "torch==1.4.0 onnxruntime==1.32.0"
    for text in ("torch==2.13 opset<14 exporter=torchscript", "runtime=caffe2", "torch>=3", "opset>18"):
        result = answer(found, parse_require(text), ["torch-1.4.0", "torch-2.13.0"])
        assert not result["require"]["holds"] and result["pin"] is None, text
    assert answer_lines(result, "m.py", [])[-1] == "require 'opset>18': does not hold"


@pytest.mark.parametrize("text, named", [
    ("torch>=x", "'torch>=x': 'x' is not a version"), ("opset=seventeen", "'opset=seventeen'"),
    ("runtime=tensorrt", "no runtime 'tensorrt'"), ("exporter>=dynamo", "exporter takes = or != a name"),
    ("cuda=12", "no key 'cuda'"), ("torch 2.6", "'torch' is not KEY<op>VALUE"), ("", "--require is empty"),
])
def test_a_require_that_cannot_mean_anything_names_its_token(text, named):
    from matrix.views.check import RequireError
    with pytest.raises(RequireError, match=named.replace("(", r"\(").replace("[", r"\[")):
        parse_require(text)


def test_the_generated_case_follows_the_files_content(tmp_path):
    model = tmp_path / "my-model.py"
    model.write_text("def build():\n    return None\n")
    folder = tmp_path / "out" / usercase.PACKAGE
    shim, before = usercase.write_case(folder, model.resolve(), None, [])
    assert before is None and shim.name == "my_model.py"
    first = case_hash(str(shim))
    mtime = shim.stat().st_mtime_ns
    assert usercase.write_case(folder, model.resolve(), None, [])[1] == shim.read_text()  # the same file: untouched
    assert shim.stat().st_mtime_ns == mtime and case_hash(str(shim)) == first
    model.write_text("def build():\n    return 1\n")
    usercase.write_case(folder, model.resolve(), None, [])
    assert case_hash(str(shim)) != first  # an edit runs again
    compile(shim.read_text(), str(shim), "exec")


def test_inputs_are_shapes_with_an_optional_dtype():
    assert usercase.parse_inputs("2x3x224x224,1x16:int64", "make") == [([2, 3, 224, 224], "float32"), ([1, 16], "int64")]
    for bad in ("2x0", "2,x3", "1x16:int8", "2*3"):
        with pytest.raises(usercase.SelectionError, match="is not SHAPE"):
            usercase.parse_inputs(bad, "make")
    assert usercase.split_target("a/m.py:make_model") == (usercase.Path("a/m.py"), "make_model")
    assert usercase.split_target("a/m.py") == (usercase.Path("a/m.py"), None)


def _check(capsys, *args: str) -> tuple[int, list[str]]:
    status = main(["check", *args])
    return status, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_bad_input_is_one_line_exit_2_and_nothing_left_behind(tmp_path, capsys):
    no_build = tmp_path / "no_build.py"
    no_build.write_text("import torch\n\ndef make():\n    return torch.nn.Linear(2, 2)\n")
    broken = tmp_path / "broken.py"
    broken.write_text("def build(:\n")
    out = tmp_path / "out"
    cases = [
        ([str(tmp_path / "missing.py")], "missing.py: no such file"),
        ([str(no_build)], "no_build.py: defines no build()"),
        ([f"{no_build}:nothing", "--inputs", "2x2"], "no_build.py: defines no nothing()"),
        ([f"{no_build}:make", "--inputs", "2xx2"], "--inputs: '2xx2' is not SHAPE[:DTYPE]"),
        ([f"{no_build}:make"], "make: a factory needs --inputs"),
        ([str(broken)], "broken.py: syntax error at line 1"),
        ([f"{no_build}:make", "--inputs", "2x2", "--env", "torch-0.1"], "no lineup entry 'torch-0.1'"),
        ([f"{no_build}:make", "--inputs", "2x2", "--runtimes", "tensorrt"], "--runtimes: unknown tensorrt"),
        ([f"{no_build}:make", "--inputs", "2x2", "--require", "torch>=two"], "'torch>=two'"),
    ]
    for args, named in cases:
        status, err = _check(capsys, *args, "--out", str(out))
        assert status == 2 and len(err) == 1 and named in err[0], (args, err)
        assert not out.exists(), args


def test_a_factory_that_raises_is_bad_input_and_leaves_nothing(worker_python, tmp_path):
    model = tmp_path / "raises.py"
    model.write_text("def make():\n    raise ValueError('no weights here')\n")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "check", f"{model}:make", "--inputs", "1x4",
                           "--python", worker_python, "--env-id", "here", "--out", str(out), "--opsets", "18",
                           "--runtimes", "ort-cpu", "--exporters", "torchscript"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"error: {model}:make: make() failed in every environment: no weights here" in done.stderr
    assert not out.exists() and not done.stdout


TINY = '''"""Two layers, one of them a torch.nn.functional call every opset has."""
import torch


def build():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    return model, (torch.rand(2, 4),)
'''


def test_a_real_check_answers_first_is_up_to_date_the_second_time_and_requires(worker_python, tmp_path):
    model = tmp_path / "tiny.py"
    model.write_text(TINY)
    out = tmp_path / "out"
    base = [sys.executable, "-m", "matrix", "check", str(model), "--python", worker_python, "--env-id", "here",
            "--out", str(out), "--opsets", "17,18", "--runtimes", "ort-cpu,reference"]
    first = subprocess.run([*base, "--require", "torch>=2.6 opset=17 runtime=onnxruntime"], cwd=REPO,
                           capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-3000:]
    lines = first.stdout.splitlines()
    # TorchScript and dynamo (it writes the opset asked for from 13 up) at 17 and 18, on two runtimes
    assert lines[0] == f"works: 8 of 8 cells pass ({model} in here)"
    assert lines[1].startswith("  newest: torch 2.") and "dynamo · opset 18 · onnxruntime CPU" in lines[1]
    assert lines[2].startswith("  oldest: torch 2.") and "torchscript · opset 17 · onnxruntime CPU" in lines[2]
    assert any(line.startswith("pin: torch==2.") and " at opset 17 " in line for line in lines)
    assert lines[-2] == "require 'torch>=2.6 opset=17 runtime=onnxruntime': holds"
    assert lines[-1] == f"page: {out / 'check.html'}" and "Every cell that ran passes" in (out / "check.html").read_text()
    second = subprocess.run([*base, "--require", "torch<2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert second.returncode == 1, second.stderr[-3000:]
    assert "up to date" in second.stderr and second.stdout.splitlines()[0] == lines[0]
    assert second.stdout.splitlines()[-2] == "require 'torch<2': does not hold"


def test_the_page_is_rendered_from_the_answer(tmp_path):
    found = _transformer_like()
    result = answer(found, [], ["torch-1.4.0", "torch-2.13.0"])
    model = tmp_path / "m.py"
    model.write_text("<script>alert(1)</script>")
    from matrix.views.check import page_context
    page = write_check_page(tmp_path / "check.html", result,
                            page_context(found, model, "m.py", ["torch-1.4.0", "torch-2.13.0"], tmp_path))
    text = page.read_text()
    assert "aten::scaled_dot_product_attention" in text and "&lt;script&gt;" in text and "<script>alert" not in text
    assert text.count('class="cell s-export-fail"') == 6 and "torch==2.13.0 onnxruntime==1.32.0" in text


def test_bad_input_in_an_out_folder_that_was_there_takes_back_only_its_own_run(tmp_path):
    out = tmp_path / "out"
    (out / "runs" / "earlier").mkdir(parents=True)
    (out / "runs" / "now").mkdir()
    shim = out / usercase.PACKAGE / "m.py"
    shim.parent.mkdir()
    shim.write_text("new")
    usercase.discard(out, False, {"earlier"}, shim, "as it was")
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["earlier"] and shim.read_text() == "as it was"
    usercase.discard(out, True, set(), shim, None)
    assert not out.exists()


def test_the_example_is_what_the_readme_says(worker_python, torch14_python, tmp_path):
    """examples/transformer_encoder.py: torch 1.4 exports it at opset 11 and onnxruntime runs it; this torch's
    TorchScript exporter refuses it below 14 (aten::unflatten at 11, scaled_dot_product_attention at 13)."""
    example = str(REPO / "examples" / "transformer_encoder.py")
    said = {}
    for python, env_id, opsets in ((torch14_python, "old", "11"), (worker_python, "new", "11,13,14")):
        done = subprocess.run([sys.executable, "-m", "matrix", "check", example, "--python", python, "--env-id", env_id,
                               "--out", str(tmp_path / env_id), "--opsets", opsets, "--runtimes", "ort-cpu",
                               "--exporters", "torchscript"], cwd=REPO, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        said[env_id] = done.stdout.splitlines()
    assert said["old"][1] == "  newest: torch 1.4.0 · torchscript · opset 11 · onnxruntime CPU"
    assert said["new"][3].endswith(" torchscript: works at opset 14 on onnxruntime CPU; below opset 14: export-fail at "
                                   "opset 11 (aten::unflatten); export-fail at opset 13 (aten::scaled_dot_product_attention)")
