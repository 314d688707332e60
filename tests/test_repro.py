"""Reproductions reproduce: the script built from a row's record gives that row's status and error, by itself."""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from matrix.envs.lineup import find_entry, load_lineup
from matrix.results.read import Results
from matrix.views.repro import WORKER_OUTPUTS, WORKER_STAGES, build_script, literal, shell_snippet

LINEUP = load_lineup()
# (case, variant, exporter, runtime, status): failing cells of each kind
TORCH14_CELLS = [
    ("expand_minus_one", "default", "torchscript", "onnxruntime", "load-fail"),
    ("keep_initializers", "default", "torchscript", "caffe2", "load-fail"),
    ("squeeze_non_one", "default", "torchscript", "caffe2", "run-fail"),
    ("index_put_accumulate", "workaround", "torchscript", "onnxruntime", "export-fail"),
    ("inplace_slice", "default", "torchscript", "onnxruntime", "diverge"),
]
TORCH213_CELLS = [
    ("dict_io", "default", "torchscript", "onnxruntime", "export-fail"),
    ("squeeze_non_one", "default", "dynamo", "onnxruntime", "load-fail"),
    ("squeeze_non_one", "default", "dynamo", "reference", "run-fail"),
    ("numeric_divergence", "default", "torchscript", "reference", "diverge"),
    ("view_bakes_batch", "default", "torchscript", "onnxruntime", "diverge"),
]


def pick(out: Path, env_id: str, wanted) -> list[tuple[dict, dict]]:
    results = Results(out)
    rows = results.rows()
    rows = rows[(rows["env_id"] == env_id) & rows["runtime_env"].isna()]
    picked = []
    for case, variant, exporter, runtime, status in wanted:
        match = rows[(rows["case"] == case) & (rows["variant"] == variant) & (rows["exporter"] == exporter)
                     & (rows["runtime"] == runtime)]
        assert not match.empty, (case, variant, exporter, runtime)
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in match.iloc[0].to_dict().items()}
        assert row["status"] == status, (row["cell"], row["status"], row["error"])
        picked.append((row, results.case_as_run(row["run_id"], row["env_id"], row["case"])))
    return picked


def reproduce(row: dict, case: dict, python: str, folder: Path) -> str:
    entry = find_entry(LINEUP, row["env_id"]) if row["env_id"].startswith("torch-") else None
    script, commands = build_script(row, case, entry, entry)
    assert "/work/" not in script and str(REPO) not in script, "no path of the machine that ran it"
    folder.mkdir(parents=True)
    (folder / "repro.py").write_text(script)
    done = subprocess.run([python, "repro.py"], cwd=folder, capture_output=True, text=True, timeout=600)
    return done.stdout


def check(row: dict, stdout: str) -> None:
    assert f"status: {row['status']}\n" in stdout, (row["cell"], stdout[-2000:])
    first_line = row["error"].splitlines()[0]
    assert f"error: {first_line}" in stdout, (row["cell"], first_line, stdout[-2000:])


@pytest.mark.parametrize("index", range(len(TORCH14_CELLS)))
def test_torch_1_4_reproductions(torch14_out, torch14_python, tmp_path, index):
    row, case = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[index:index + 1])[0]
    check(row, reproduce(row, case, torch14_python, tmp_path / "repro"))


@pytest.fixture(scope="module")
def torch213_out(worker_python, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("repro213")
    cases = "|".join(sorted({c[0] for c in TORCH213_CELLS}))
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "torch-2.13.0",
                           "--out", str(out), "--opsets", "18", "--runtimes", "ort-cpu,reference", "--cases", cases,
                           "--time-budget", "0.02", "--no-report"], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.parametrize("index", range(len(TORCH213_CELLS)))
def test_torch_2_13_reproductions(torch213_out, worker_python, tmp_path, index):
    row, case = pick(torch213_out, "torch-2.13.0", TORCH213_CELLS[index:index + 1])[0]
    check(row, reproduce(row, case, worker_python, tmp_path / "repro"))


def test_the_report_snippet_writes_and_runs_the_script(torch14_out, torch14_python, tmp_path):
    """What the case page shows, pasted into a shell: the heredoc gives back the very script."""
    row, case = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[:1])[0]
    entry = find_entry(LINEUP, "torch-1.4.0")
    script, commands = build_script(row, case, entry, entry)
    snippet = shell_snippet(script, commands, "repro-expand")
    assert "uv venv --python 3.7 .venv" in commands and "torch==1.4.0" in commands
    # run the snippet's file-writing part, then the script with the already-built environment
    writing = snippet.split("\nuv venv")[0]
    subprocess.run(["sh", "-c", writing], cwd=tmp_path, check=True)
    assert (tmp_path / "repro-expand" / "repro.py").read_text() == script
    done = subprocess.run([torch14_python, "repro.py"], cwd=tmp_path / "repro-expand", capture_output=True, text=True)
    assert "status: load-fail" in done.stdout and "Incompatible dimensions" in done.stdout


def test_repro_command_writes_a_folder(torch14_out, tmp_path):
    row, _ = pick(torch14_out, "torch-1.4.0", TORCH14_CELLS[:1])[0]
    done = subprocess.run([sys.executable, "-m", "matrix", "repro", row["cell"], "--env", "torch-1.4.0",
                           "--out", str(torch14_out), "--to", str(tmp_path / "r")], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "r" / "repro.py").exists() and "uv pip install" in (tmp_path / "r" / "run.sh").read_text()
    missing = subprocess.run([sys.executable, "-m", "matrix", "repro", "no/such/cell", "--out", str(torch14_out)],
                             cwd=REPO, capture_output=True, text=True)
    assert missing.returncode == 2 and "no row of cell 'no/such/cell'" in missing.stderr
    json.dumps(row)  # a row is plain data


# A tiny case and the calls the worker records for it, with recorded strings no script may interpolate.
TINY_CASE = {"file": "cases/tiny.py", "meta": {"batchable": True}, "source": '''\
import torch

from matrix.wire import Case

CASE = Case(title="tiny", pitfall="none", batchable=True)


def build():
    return torch.nn.Linear(3, 2), (torch.randn(2, 3),)


def build_broken():
    return torch.nn.Linear(3, 2)
'''}
TINY_ROW = {"status": "diverge", "stage": "compare", "case": "tiny", "variant": "default", "exporter": "torchscript",
            "opset_requested": 17, "runtime": "onnxruntime", "env_id": "here", "atol": 1e-4, "rtol": 1e-3,
            "cell": "tiny/default/'''\"\"\"/\\",
            "error": 'max abs error """ \'\'\' \\N{x} \x00 {braces}\nsecond line',
            "export_call": "import torch\n\n\ndef export_model(module, inputs, path):\n"
                           "    torch.onnx.export(module, inputs, path, opset_version=17, dynamo=False,\n"
                           "                      input_names=['input_0'], dynamic_axes={'input_0': {0: 'batch'}})\n",
            "runtime_call": "import onnxruntime\n\n\ndef load_model(path):\n"
                            "    return onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])\n\n\n"
                            "def run_model(session, arrays):\n"
                            "    names = [i.name for i in session.get_inputs()]\n"
                            "    return session.run(None, dict(zip(names, arrays)))\n"}


def assigned(script: str) -> dict:
    """The script's docstring and its module-level constants, as Python reads them."""
    tree = ast.parse(script)
    values = {"__doc__": ast.get_docstring(tree, clean=False)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def test_the_script_runs_the_shipped_stages_and_has_no_copy_of_them():
    """The pipeline's stage code travels as source, verbatim; the template only calls it."""
    script, _ = build_script(TINY_ROW, TINY_CASE, None, None)
    embedded = [WORKER_STAGES.read_text(), WORKER_OUTPUTS.read_text(), TINY_CASE["source"],
                TINY_ROW["export_call"], TINY_ROW["runtime_call"]]
    for source in embedded:
        assert literal(source) in script
    assert literal(WORKER_STAGES.read_text()).startswith("r'''"), "readable, and verbatim"
    template_only = script
    for source in embedded:
        template_only = template_only.replace(literal(source), "''")
    for logic in ("export_model(", "load_model(", "run_model(", "manual_seed", "check_model", "savez", "compare(",
                  "rebatch(", "no_grad"):
        assert logic not in template_only, f"the template has its own copy of the stages: {logic}"
    for call in ("stages.build(", "stages.export(", "stages.inspect_model(", "stages.run_exported("):
        assert call in template_only
    assert "matrix.worker.spec" not in script and "from __future__" not in template_only


def test_recorded_strings_are_literals_never_code():
    script, _ = build_script(TINY_ROW, TINY_CASE, None, None)
    values = assigned(script)  # parses: no recorded quote or backslash ended a string early
    assert f"cell      {TINY_ROW['cell']}\n" in values["__doc__"]
    assert f"diverge at stage compare: {TINY_ROW['error'].splitlines()[0]}\n" in values["__doc__"]
    assert values["EXPORT"] == TINY_ROW["export_call"] and values["RUNTIME"] == TINY_ROW["runtime_call"]
    assert values["BUILDER"] == "build" and values["STAGE_FAILURE"]["compare"] == "diverge"
    assert "\x00" not in script
    # a failed export records no runtime call: the same script, with nothing to run
    failed = dict(TINY_ROW, status="export-fail", runtime_call=None)
    without, _ = build_script(failed, TINY_CASE, None, None)
    assert assigned(without)["RUNTIME"] == ""
    assert without.replace(f"RUNTIME = {literal('')}", "") == script.replace(f"RUNTIME = {literal(TINY_ROW['runtime_call'])}",
                                                                 "").replace("  diverge at", "  export-fail at")


@pytest.mark.slow
def test_a_hostile_row_reproduces_here_in_one_step_and_in_two(worker_python, tmp_path):
    script, _ = build_script(TINY_ROW, TINY_CASE, None, None)
    (tmp_path / "repro.py").write_text(script)

    def repro(*step: str) -> subprocess.CompletedProcess:
        return subprocess.run([worker_python, "repro.py", *step], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
    done = repro()
    assert done.returncode == 0 and "checker: ok\nstatus: pass\n" in done.stdout, done.stdout + done.stderr[-3000:]
    # the replay's way: export with one environment, run with another (data.npz carries the eager outputs)
    assert repro("export").returncode == 0 and (tmp_path / "data.npz").exists()
    done = repro("run")
    assert done.returncode == 0 and "status: pass\n" in done.stdout, done.stdout + done.stderr[-3000:]
    # a broken build fails as the pipeline's build stage fails it
    (tmp_path / "repro.py").write_text(build_script(dict(TINY_ROW, variant="broken"), TINY_CASE, None, None)[0])
    done = repro()
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert ("status: build-fail\nerror: cases.tiny: build_broken() must return (module, example_inputs), got Linear"
            in done.stdout), done.stdout


def test_the_default_folder_of_a_hostile_case_id_stays_here(tmp_path):
    from matrix.results.rows import append_row
    from matrix.results.store import RunDir, write_json
    from matrix.wire import Row
    out, here = tmp_path / "out", tmp_path / "a" / "b"
    here.mkdir(parents=True)
    run = RunDir(out, "r1")
    write_json(run.meta_file, {"run_id": "r1", "created": "2026-01-01T00:00:00+00:00"})
    append_row(run.rows_file("e"), Row(run_id="r1", env_id="e", cell="c1", case="../../escaped", variant="default",
                                       exporter="torchscript", opset_requested=9, runtime="onnxruntime",
                                       status="run-fail", export_call="def export_model(m, i, p):\n    pass\n",
                                       runtime_call="def load_model(p):\n    pass\n").to_dict())
    write_json(run.catalogue_file("e"), {"cases": [{"id": "../../escaped", "source": "def build():\n    pass\n",
                                                    "file": "cases/x.py", "meta": {}}]})
    done = subprocess.run([sys.executable, "-m", "matrix", "repro", "c1", "--out", str(out)], cwd=here,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    made = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("repro.py")]
    assert len(made) == 1 and made[0].startswith("a/b/repro-escaped-"), made


def test_a_pasted_snippet_writes_a_hostile_script_and_runs_none_of_it(tmp_path):
    """A case's source that holds the heredoc's delimiter, then shell lines: pasted into sh, it is written
    into repro.py verbatim and nothing of it runs."""
    from matrix.views.repro import HEREDOC
    pwned = tmp_path / "pwned"
    script = f"print('a case')\n{HEREDOC}\ntouch {pwned}\n$(touch {pwned})\n`touch {pwned}`\n"
    snippet = shell_snippet(script, "true", str(tmp_path / "folder"))
    done = subprocess.run(["sh"], input=snippet, text=True, capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not pwned.exists(), "a line of the script ran in the shell"
    assert (tmp_path / "folder" / "repro.py").read_text() == script


def test_a_pasted_snippet_stops_at_the_first_step_that_fails(tmp_path):
    """A missing interpreter, a failed install: nothing after it runs, and the snippet says so by its status."""
    ran = tmp_path / "ran"
    snippet = shell_snippet("print('a case')\n", f"# a note\nfalse\ntouch {ran}", str(tmp_path / "folder"))
    done = subprocess.run(["sh"], input=snippet, text=True, capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode != 0 and not ran.exists()
    assert (tmp_path / "folder" / "repro.py").read_text() == "print('a case')\n"


def test_install_commands_say_which_python_and_take_cpu_wheels_for_cpu_cells():
    from matrix.views.repro import CPU_INDEX, _install_commands
    old, new = find_entry(LINEUP, "torch-1.4.0"), find_entry(LINEUP, "torch-2.13.0")
    venv, install = _install_commands(new, None, ".venv")[:2]
    assert venv.startswith(f"uv venv --python {new.python} .venv || {{ echo 'This reproduction needs Python {new.python}")
    assert venv.endswith("; false; }") and venv.count("'") == 2  # one quoted message, no quote inside it
    assert f"--extra-index-url {CPU_INDEX}" in install  # torch's CPU build, not PyPI's nvidia-* wheels
    latest = find_entry(LINEUP, "torch-2.15.0")
    assert any(p.startswith("nvidia-") for p in latest.pins)  # the lock has PyPI's CUDA wheels...
    assert "nvidia-" not in _install_commands(latest, None, ".venv")[1]  # ...which a CPU cell leaves out
    assert "nvidia-" in _install_commands(latest, None, ".venv", cpu=False)[1]
    assert CPU_INDEX not in _install_commands(new, None, ".venv", cpu=False)[1]  # a GPU cell needs CUDA's build
    assert CPU_INDEX not in _install_commands(old, None, ".venv")[1]  # torch 1.4 bundles CUDA; PyPI has its wheel
    done = subprocess.run(["sh", "-n", "-c", venv], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr  # the line parses as shell


def test_a_model_case_installs_its_packages_and_torchvision_beside_a_cpu_torch_takes_its_cpu_build():
    from matrix.views.repro import CPU_INDEX, _install_commands
    entry = find_entry(LINEUP, "torch-2.5.1")
    vision = [p for p in entry.vision_pins if p.startswith("torchvision==")]
    assert vision, "torch-2.5.1 has a torchvision pin"
    assert not any(vision[0] in line for line in _install_commands(entry, None, ".venv"))  # not a torchvision case
    lines = _install_commands(entry, None, ".venv", packages=frozenset({"torchvision"}))
    (line,) = [line for line in lines if vision[0] in line]
    assert f"--extra-index-url {CPU_INDEX}" in line  # PyPI's torchvision is CUDA's: nms does not load beside +cpu
    assert not any("transformers==" in line for line in lines)
    assert any("transformers==" in line for line in _install_commands(entry, None, ".venv",
                                                                        packages=frozenset({"transformers"})))
