"""The operator corpus: frozen OpInfo samples as cases, judged against the published reference, and looked up."""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from matrix.results.rows import append_row, read_rows
from matrix.results.store import RunDir, current_hashes, write_json
from matrix.run.plan import Selection
from matrix.run.reference import Reference
from matrix.run.runner import EnvRunner
from matrix.views.ops import QueryError, answer
from matrix.views.repro import build_script
from matrix.views.site.build import build_site
from matrix.wire import SCHEMA_VERSION, Row
from matrix.wire.contract import judge_by_reference
from matrix.wire.opcases import FROZEN, case_id, frozen_lines, op_cases

CORPUS = REPO / "cases" / "ops"
# a fixed handful of the frozen corpus: a pass, a dtype onnxruntime lacks a kernel for, a random op
PICKED = {"roll.float32", "add.bool", "empty_like.float32"}


def small_corpus(folder: Path, extra: list[dict] = ()) -> Path:
    """A case folder holding the picked lines of the repo's frozen corpus (and ``extra`` lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [line for line in frozen_lines(str(CORPUS)) if "summary" in line or case_id(line) in PICKED]
    (folder / FROZEN).write_text("".join(json.dumps(line) + "\n" for line in [*lines, *extra]))
    return folder


def test_the_frozen_corpus_covers_op_db_with_one_sample_per_op_and_dtype():
    lines = list(frozen_lines(str(CORPUS)))
    summary = lines[-1]["summary"]
    ops = {(line["op"], line["variant"]) for line in lines[:-1]}
    assert summary["ops"] == len(ops) >= 600, "op_db of torch 2.15 has 703 OpInfos; most must freeze"
    assert {line["dtype"] for line in lines[:-1]} == {"float32", "float16", "int64", "int32", "bool"}
    ids = [case_id(line) for line in lines[:-1]]
    assert len(ids) == len(set(ids)), "one case per op and dtype"
    assert {"roll.float32", "einsum.float32", "nn.functional.conv2d.float32"} <= set(ids)


def test_generated_cases_are_python_3_7_and_hashed_by_their_own_text(tmp_path):
    folder = small_corpus(tmp_path / "ops")
    cases = list(op_cases(str(folder)))
    assert sorted(c[0] for c in cases) == sorted(PICKED)
    for _, path, source in cases:
        ast.parse(source, path, feature_version=(3, 7))  # torch 1.4's worker runs them
        assert 'corpus="ops"' in source and "OpCall.of(SAMPLE)" in source
    random = next(source for identifier, _, source in cases if identifier == "empty_like.float32")
    assert "compare_values=False" in random, "uninitialised memory is compared by shape only"
    hashes = current_hashes([folder])
    assert set(hashes) == PICKED
    line = next(line for line in frozen_lines(str(folder)) if case_id(line) == "roll.float32")
    line["kwargs"] = {"shifts": 2, "dims": 0}
    small_corpus(folder, [line | {"op": "roll2"}])
    assert current_hashes([folder])["roll.float32"] == hashes["roll.float32"], "another line is another case"


def test_a_cell_without_expectations_is_judged_by_its_published_row():
    def verdict(status, published):
        return judge_by_reference({"status": status}, published and {"status": published, "run_id": "r1"})["verdict"]
    assert verdict("export-fail", None) == "as-expected"  # nothing to judge by
    assert verdict("export-fail", "export-fail") == "as-expected"
    assert verdict("export-fail", "pass") == "regression"
    assert verdict("pass", "export-fail") == "unexpected-pass"
    assert verdict("crash", "diverge") == "regression"  # got worse
    assert verdict("diverge", "export-fail") == "as-expected"  # exports now, still wrong: no worse
    assert verdict("skip", "pass") == "as-expected"


def _published(out: Path, rows: list[dict], catalogue: list[dict]) -> Path:
    run = RunDir(out, "20261201T000000Z-aaaa")
    run.path.mkdir(parents=True)
    write_json(run.meta_file, {"run_id": run.run_id, "created": "2026-12-01T00:00:00+00:00"})
    write_json(run.catalogue_file("torch-2.6.0"), {"env_id": "torch-2.6.0", "cases": catalogue})
    for row in rows:
        append_row(run.rows_file("torch-2.6.0"), Row.from_dict({"schema_version": SCHEMA_VERSION,
                                                                "env_id": "torch-2.6.0", "run_id": run.run_id,
                                                                "torch": "2.6.0", **row}).to_dict())
    return out


def test_ops_query_says_since_which_opset_and_the_error_below(tmp_path):
    catalogue = [{"id": f"roll.{d}", "meta": {"corpus": "ops", "op": {"name": "roll", "dtype": d}}}
                 for d in ("float32", "int64")] + [{"id": "odd", "meta": "not a dict"}, {"id": "odd2", "meta": {
                     "corpus": "ops", "op": ["not", "a", "dict"]}}, "not a case"]  # hostile entries cost only themselves
    rows = [{"cell": f"roll.{d}/default/torchscript/opset{o}/default/onnxruntime/CPU", "case": f"roll.{d}",
             "variant": "default", "exporter": "torchscript", "opset_requested": o, "opset_actual": o, "torch": "2.6.0+cpu",
             "runtime": "onnxruntime", "provider": "CPU", "status": "pass" if o >= 12 else "export-fail",
             "error": None if o >= 12 else "Unsupported: ONNX export of operator roll, opset 9",
             "finished_at": f"2026-12-01T00:00:{o:02d}"} for d in ("float32", "int64") for o in (9, 11, 12, 13)]
    out = _published(tmp_path / "results-ops", rows, catalogue)
    text, found = answer(out, "roll", torch="2.6", opset=None, runtime="onnxruntime")
    assert found, text
    line = next(line for line in text.splitlines() if "float32, int64" in line)
    assert "works from opset 12" in line and "opset 11: export-fail: Unsupported: ONNX export" in line
    assert answer(out, "roll", torch="2.6", opset=11)[0].count("fails: export-fail") == 1
    assert answer(out, "roll", torch="2.6", opset=17) == (f"no results for op 'roll' with these filters in {out}",
                                                          False), "each filter is there, not all of them at once"
    for bad, kwargs in (("--torch '2.7'", {"torch": "2.7"}), ("--runtime 'ort-cpu'", {"runtime": "ort-cpu"}),
                        ("op 'rol'", {"op": "rol"})):
        with pytest.raises(QueryError, match=bad):
            answer(out, **{"op": "roll", **kwargs})
    assert answer(out, "roll", torch="2.6.0")[1], "a full release matches its builds too (2.6.0+cpu)"


def test_op_cells_run_as_cells_and_a_second_run_matches_the_first(worker_python, tmp_path):
    missing = {"op": "no_such_op", "variant": "", "dtype": "float32", "call": "torch.no_such_op",
               "args": [{"in": 0}], "kwargs": {}, "random": False, "sample": "",
               "tensors": [{"dtype": "float32", "shape": [2], "data": "AACAPwAAAEA="}]}
    folder = small_corpus(tmp_path / "ops", [missing])
    selection = Selection(opsets=(17,), exporters=("torchscript",), runtimes=("ort-cpu",))

    def run(out: Path, reference: Path | None) -> dict:
        runner = EnvRunner("torch-2.13.0", worker_python, out, selection, [folder], time_budget_s=0.01)
        runner.reference = Reference({"ops": reference})
        rows, problems = read_rows(runner.run().rows_file)
        assert problems == []
        return {r["case"]: r for r in rows}

    first = run(tmp_path / "first", None)
    assert first["roll.float32"]["status"] == "pass", first["roll.float32"]["error"]
    assert first["add.bool"]["status"] == "load-fail" and "tensor(bool)" in first["add.bool"]["error"]
    assert first["empty_like.float32"]["status"] == "pass", "uninitialised values never diverge: shapes only"
    skip = first["no_such_op.float32"]
    assert skip["status"] == "skip" and "has no torch.no_such_op" in skip["error"], skip["error"]
    assert {r["verdict"] for r in first.values()} == {"as-expected"}, "no reference: nothing is a regression"
    second = run(tmp_path / "second", tmp_path / "first")
    assert {r["verdict"] for r in second.values()} == {"as-expected"}
    assert second["add.bool"]["expectation_reason"].startswith("as published in run ")
    assert all(r.get("attempts") in (None, 1) for r in second.values()), "a known failure is not run twice"

    row = first["roll.float32"]
    case = next(c for c in json.loads(next((tmp_path / "first" / "runs").glob("*/torch-2.13.0.catalogue.json"))
                                       .read_text())["cases"] if c["id"] == "roll.float32")
    script, _ = build_script(row, case, None, None)
    (tmp_path / "repro.py").write_text(script)
    done = subprocess.run([worker_python, "repro.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "status: pass\n" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]

    # the site's operators pages, from a results folder whose ops/ holds this run
    shutil.copytree(tmp_path / "first" / "runs", tmp_path / "results" / "ops" / "runs")
    build_site(tmp_path / "results", tmp_path / "site")
    index = (tmp_path / "site" / "operators.html").read_text()
    roll = index[index.index('data-op="roll"'):].split("</tr>")[0]
    assert "from torch 2.13.0 (or earlier: torch 1.4.0 to 2.12.1 not measured), opset ≥ 17" in roll, roll
    assert "✓ 17" in roll, roll
    add = index[index.index('data-op="add"'):].split("</tr>")[0]
    assert "✗ load-fail" in add and "tensor(bool)" in add, "the failure's words and its error in the title"
    page = (tmp_path / "site" / "ops" / "roll.html").read_text()
    assert "torchscript / onnxruntime CPU / float32" in page and "roll.float32" in page
    assert "not measured" in index[index.index('data-op="no_such_op"'):].split("</tr>")[0]


def test_ops_query_from_the_command_line_names_what_the_results_lack(tmp_path):
    (tmp_path / "runs").mkdir()
    done = subprocess.run([sys.executable, "-m", "matrix", "ops", "query", "roll", "--results", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "op 'roll': not in these results" in done.stderr, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "matrix", "ops", "query", "roll", "--results", str(tmp_path / "no")],
                          capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 2 and "no runs/ folder there" in done.stderr, done.stdout + done.stderr


# The registry pass's facts for three cases of one release (as matrix/worker/registry.py writes them): roll has a
# symbolic from opset 9 (7 and 8 take opset 9's), tril only from 14, gelu's sample traces to an op no registry has
REGISTRY = {"opsets": list(range(7, 15)), "torchlib": ["aten::roll", "aten::tril"],
            "symbolics": {"aten::roll": list(range(7, 15)), "aten::tril": [14], "aten::gelu": []},
            "ops": {"roll.float32": {"aten": ["aten::roll"]}, "tril.int32": {"aten": ["aten::tril"]},
                    "gelu.float32": {"aten": ["aten::gelu"]}, "xlogy.float32": {"skip": "torch 1.4.0 has no xlogy"}}}


def _points(statuses: dict[int, str]) -> list[dict]:
    return [{"opset": o, "status": s, "error": None if s in ("pass", "skip") else f"{s} at {o}\nmore"}
            for o, s in statuses.items()]


def test_registered_versus_working_on_fixed_data():
    from matrix.views.registry import categorise, release_tag, symbolic_lines
    works = categorise(_points({9: "pass", 11: "pass", 13: "pass"}), REGISTRY, "roll.float32", "torchscript")
    assert works["category"] == "works" and works["words"] == "works since opset 9"
    # onnxruntime has no Trilu for int32: registered from 14, and it fails there; below 14 it agrees (no symbolic)
    fails = categorise(_points({13: "export-fail", 14: "run-fail"}), REGISTRY, "tril.int32", "torchscript")
    assert fails["category"] == "registered-fails" and fails["opsets"] == [14] and fails["status"] == "run-fail"
    assert "registered but fails at opset 14 (run-fail: run-fail at 14)" in fails["words"], "first line only"
    lowered = categorise(_points({13: "export-fail", 14: "pass"}), REGISTRY, "tril.int32", "torchscript")
    assert lowered["category"] == "works" and lowered["works_from"] == 14
    none = categorise(_points({9: "export-fail", 13: "export-fail"}), REGISTRY, "gelu.float32", "torchscript")
    assert none["category"] == "unregistered" and none["words"] == "not registered: aten::gelu at opset 9, 13"
    decomposed = categorise(_points({18: "pass"}), REGISTRY, "gelu.float32", "dynamo")
    assert decomposed["category"] == "decomposed" and decomposed["missing"] == ["aten::gelu"]
    assert categorise(_points({18: "diverge"}), REGISTRY, "roll.float32", "dynamo")["category"] == "registered-fails"
    assert categorise(_points({9: "skip"}), REGISTRY, "roll.float32", "torchscript") is None, "nothing ran"
    unknown = categorise(_points({9: "pass"}), REGISTRY, "xlogy.float32", "torchscript")
    assert unknown["category"] == "unknown" and "has no xlogy" in unknown["words"]
    assert categorise(_points({9: "pass"}), None, "roll.float32", "torchscript")["category"] == "unknown"
    tag = release_tag([("float32", works), ("int32", fails)])
    assert tag["text"] == "registered, fails" and tag["title"].startswith("int32: registered but fails")
    assert release_tag([("float32", works)]) is None, "agreement says nothing in the overview"
    tril = symbolic_lines(REGISTRY, ["tril.int32"])
    assert tril == [{"aten": "aten::tril", "dtypes": "int32", "symbolic": "14", "lacking": "7–13", "torchlib": "yes"}]


def test_registry_files_are_published_beside_the_op_rows_and_read_by_ops_query(tmp_path):
    from matrix.results.registry import (
        RegistryFileError,
        publish_registry,
        read_registries,
        registry_path,
        write_registry,
    )
    catalogue = [{"id": "roll.float32", "meta": {"corpus": "ops", "op": {"name": "roll", "dtype": "float32"}}}]
    rows = [{"cell": f"roll.float32/default/torchscript/opset{o}/default/onnxruntime/CPU", "case": "roll.float32",
             "variant": "default", "exporter": "torchscript", "opset_requested": o, "opset_actual": o,
             "torch": "2.6.0", "runtime": "onnxruntime", "provider": "CPU", "status": "pass",
             "finished_at": f"2026-12-01T00:00:{o:02d}"} for o in (9, 11)]
    results = _published(tmp_path / "results" / "ops", rows, catalogue)
    reports = tmp_path / "reports-ops"
    facts = {**REGISTRY, "symbolics": {"aten::roll": [11, 12]}}  # a registry that lacks roll at opset 9
    first = write_registry(reports, "torch-2.6.0", facts)
    assert write_registry(reports, "torch-2.6.0", facts).read_bytes() == first.read_bytes(), "same facts, same bytes"
    assert publish_registry(reports, results, ["torch-1.4.0"]) == []
    assert publish_registry(reports, results) == ["torch-2.6.0"]
    assert read_registries(results)["torch-2.6.0"]["symbolics"] == {"aten::roll": [11, 12]}
    text, found = answer(results, "roll", torch="2.6")
    assert found and "registry: unregistered but works (decomposed) at opset 9: no function for aten::roll" in text
    build_site(tmp_path / "results", tmp_path / "site")
    index = (tmp_path / "site" / "operators.html").read_text()
    roll = index[index.index('data-op="roll"'):].split("</tr>")[0]
    assert '<span class="reg" title="float32: unregistered but works (decomposed) at opset 9' in roll, roll
    page = (tmp_path / "site" / "ops" / "roll.html").read_text()
    mine = page[page.index('id="registry"'):page.index('id="errors"')]
    assert "torchscript / float32" in mine and ">decomposed</td>" in mine
    assert "<td><code>aten::roll</code></td><td>float32</td><td>11–12</td><td>7–10, 13–14</td><td>yes</td>" in mine
    write_registry(reports, "torch-9.9.9", {}).write_bytes(b"not gzip")
    with pytest.raises(RegistryFileError, match="torch-9.9.9"):
        publish_registry(reports, tmp_path / "elsewhere")
    assert not registry_path(tmp_path / "elsewhere", "torch-9.9.9").exists()


def test_the_registry_pass_reads_torch_2_13s_registries_for_a_few_ops(worker_python, tmp_path):
    """The real pass in this interpreter (torch 2.13.0, as `nox -s tests` installs it), judged by the truth
    measured in the published rows: tril's cells fail export below opset 14, and its symbolic starts there."""
    from matrix.results.registry import read_registry
    from matrix.run.registry import run_registry
    path, done = run_registry(worker_python, "torch-2.13.0", tmp_path, ["roll", "tril", "add"], log=lambda _: None)
    assert done["cases"] == done["traced"] == 15 and done["worker_starts"] == 1, done
    facts = read_registry(path)
    assert facts["opsets"] == list(range(7, 21)) and facts["ops"]["add.int64"] == {"aten": ["aten::add"]}
    assert facts["symbolics"]["aten::roll"] == list(range(7, 21)), "roll: opset 9's symbolic, 7 and 8 take it up"
    assert facts["symbolics"]["aten::tril"] == list(range(14, 21))
    assert facts["torchlib"] == ["aten::add", "aten::roll", "aten::tril"] and facts["torchlib_size"] > 300
    published = Reference({"ops": REPO / "results" / "ops"})._load("ops", "torch-2.13.0", False)
    at9 = "{}.float32/default/torchscript/opset9/default/onnxruntime/CPUExecutionProvider"
    assert published[at9.format("tril")]["status"] == "export-fail" and 9 not in facts["symbolics"]["aten::tril"]
    assert published[at9.format("roll")]["status"] == "pass"


def test_the_operators_overview_pages_its_releases_newest_first():
    """26 releases of 620 ops would be a 5 MB page: each page holds the releases that fit, the newest on the first."""
    from matrix.views.site.operators import BYTES_PER_CELL, BYTES_PER_OP, PAGE_BYTES, release_windows
    envs = [f"torch-2.{n}.0" for n in range(26)]
    windows = release_windows(envs, 620)
    assert sorted(i for w in windows for i in w) == list(range(26))  # every release on exactly one page
    assert 25 in windows[0] and 0 in windows[-1] and len(windows) > 1
    assert all(w == sorted(w) and BYTES_PER_OP * 620 + BYTES_PER_CELL * 620 * len(w) <= PAGE_BYTES for w in windows)
    assert release_windows(envs[:3], 620) == [[0, 1, 2]] and release_windows([], 620) == [[]]
