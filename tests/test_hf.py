"""The model corpus's transformers part: the per-entry model pins, the tiny-config table, the models page."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from matrix.envs.lineup import LineupError, find_entry, load_lineup, parse_entry
from matrix.results.rows import append_row
from matrix.results.store import RunDir, write_json
from matrix.views.site import build_site
from matrix.views.site.models import model_view, models_context
from matrix.wire import Cell, Row

REPO = Path(__file__).resolve().parent.parent
HF = REPO / "cases" / "hf"
ENVS = Path(os.environ.get("MATRIX_ENVS_DIR", REPO / ".envs"))
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
BASE = {"id": "torch-9.9.9", "python": "3.11", "pins": ["torch==9.9.9", "numpy==2.0.0"]}


# -- the model pins: beside the entry, never part of its identity ---------------------------------------------------

def test_model_pins_never_touch_the_entrys_identity():
    from matrix.envs.fingerprint import fingerprint
    plain = parse_entry(dict(BASE), "test")
    with_models = parse_entry(dict(BASE, model_requires=["transformers[torch]"],
                                   model_pins=["transformers==5.0.0", "tokenizers==0.22.0"]), "test")
    assert fingerprint(plain, "3.11.9", []) == fingerprint(with_models, "3.11.9", [])
    assert with_models.model_pins == ("transformers==5.0.0", "tokenizers==0.22.0")


@pytest.mark.parametrize("extra, needle", [
    ({"model_requires": ["transformers[torch]"], "model_pins": ["numpy==1.0.0"]}, "numpy already pinned in pins"),
    ({"model_pins": ["transformers==5.0.0"]}, "model_pins without model_requires"),
    ({"model_requires": "transformers"}, "model_requires must be a list"),
    ({"model_requires": ["transformers; rm -rf /"]}, "model_requires must be a list"),
    ({"model_requires": ["transformers"], "model_pins": ["transformers>=5"]}, "not of the form 'name==version'"),
    ({"model_requires": ["transformers"], "model_note": 3}, "model_note must be a string"),
])
def test_bad_model_fields_are_named(extra, needle):
    with pytest.raises(LineupError, match=needle):
        parse_entry(dict(BASE, **extra), "lineup.toml: env #1")


def test_every_entry_has_a_transformers_pin_or_says_why_not():
    for entry in load_lineup():
        assert entry.model_requires == ("transformers[torch]",), entry.id
        pinned = [p for p in entry.model_pins if p.startswith("transformers==")]
        said = entry.model_note.startswith("no transformers release works beside torch")
        assert pinned or said, entry.id
    assert "transformers==4.22.2" in find_entry(load_lineup(), "torch-1.4.0").model_pins


def test_results_hold_the_transformers_corpus_of_every_entry_at_its_opsets():
    """What `nox -s models` runs is published: every entry with a transformers pin has current rows of every
    architecture at each opset hf_opsets names, made with its declared dynamic axes."""
    from matrix.run.corpora import hf_opsets
    from matrix.views.site.models import model_view
    view, catalogue, _ = model_view(REPO / "results")
    hf = view[view["case"].map(lambda c: (catalogue.get(c, {}).get("file") or "").startswith("hf/"))]
    archs = {p.stem for p in HF.glob("*.py") if not p.name.startswith("_")}
    for entry in load_lineup():
        if not any(p.startswith("transformers==") for p in entry.model_pins):
            continue
        rows = hf[hf["env_id"] == entry.id]
        for opset in hf_opsets(entry.torch).split(","):
            at = rows[rows["opset_requested"] == int(opset)]
            shown = {case.split("+")[0] for case in at["case"]}  # "resnet+hf": torch's own ResNet is "resnet" too
            assert shown == archs, (entry.id, opset, sorted(archs - shown)[:5])
            assert at["cell"].str.contains("dynamic_axes=True").all(), (entry.id, opset)


def test_only_case_folders_that_ask_see_the_model_packages(tmp_path):
    from matrix.envs.models import needs_models, worker_settings
    entry = find_entry(load_lineup(), "torch-2.13.0")
    assert needs_models([HF]) and not needs_models([REPO / "cases"])
    assert worker_settings(entry, [REPO / "cases"], envs_dir=tmp_path) == (None, "")
    none = parse_entry(dict(BASE, model_requires=["transformers[torch]"], model_note="no transformers release works"
                            " beside torch 9.9.9: nothing imports"), "test")
    site, more = worker_settings(none, [HF], envs_dir=tmp_path)
    marker = json.loads((Path(site) / ".matrix-models.json").read_text())
    assert marker["note"].startswith("no transformers release works") and marker["pins"] == [] and more


@pytest.mark.slow
def test_the_model_lock_resolves_the_newest_release_that_imports(tmp_path):
    """Real index answers: torch 1.4.0's resolution and probe in its environment (built in the lineup's .envs)."""
    from matrix.envs.models import resolve_models
    entry = find_entry(load_lineup(), "torch-1.4.0")
    python = ENVS / entry.id / "bin" / "python"
    if not python.exists():
        pytest.skip(f"{entry.id} is not built here")
    pins, note = resolve_models(entry, python, log=lambda _: None)
    assert "transformers==4.22.2" in pins and note == ""
    assert not {p.split("==")[0] for p in pins} & {p.split("==")[0] for p in entry.pins}


# -- the tiny-config table ----------------------------------------------------------------------------------------

def _table() -> dict:
    """cases/hf/_hf.py's table, read without torch: its data part is plain literals."""
    text = (HF / "_hf.py").read_text()
    namespace: dict = {}
    exec(text[text.index("TEXT = {"):text.index("BATCH, SEQ, PROMPT")], namespace)
    return namespace["ARCHS"]


def test_one_case_module_per_architecture_and_a_cache_variant_per_decoder():
    table = _table()
    assert len(table) >= 30
    modules = {p.stem for p in HF.glob("*.py") if not p.name.startswith("_")}
    assert modules == set(table)
    for arch, (family, *_rest) in table.items():
        text = (HF / f"{arch}.py").read_text()
        assert f'case_of("{arch}")' in text
        assert ("def build_kv_cache" in text) == (family == "decoder"), arch
        # every architecture runs at another batch and length; a generation step at another batch and cache length
        assert f'\ndef shapes():\n    return other_shapes("{arch}")' in text, arch
        assert (f'\ndef shapes_kv_cache():\n    return cache_shapes("{arch}")' in text) == (family == "decoder"), arch
    assert (HF / "_requires.txt").read_text().strip() == "transformers"


def test_every_entry_names_classes_transformers_has():
    """Checked in the newest worker environment with its model packages (built by a run of cases/hf)."""
    python, site = ENVS / "torch-2.13.0" / "bin" / "python", ENVS / "torch-2.13.0+models"
    if not (python.exists() and (site / "transformers").is_dir()):
        pytest.skip("torch-2.13.0 and its model packages are not built here (python -m matrix run --env "
                    "torch-2.13.0 --cases-dir cases/hf builds them)")
    names = sorted({name for _, _, config, model, *_ in _table().values() for name in (config, model)})
    script = "import json, sys, transformers; print(json.dumps([n for n in sys.argv[1:] if not hasattr(transformers, n)]))"
    out = subprocess.run([str(python), "-c", script, *names], capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# -- the models page on fake rows, broken ones included -----------------------------------------------------------

def _case(case_id: str, architecture: str, family: str) -> dict:
    return {"id": case_id, "file": f"hf/{case_id}.py", "case_hash": "abc", "error": None,
            "meta": {"title": f"{architecture} (tiny)", "pitfall": "does it export?", "corpus": "models",
                     "op": {"family": family, "architecture": architecture, "source": "transformers"}},
            "variants": ["default", "kv_cache"], "source": "# the case\n", "support_sources": {"_hf.py": "# helper\n"}}


def _row(run: RunDir, env: str, case: str, variant: str, exporter: str, opset: int, status, **fields) -> dict:
    cell = Cell(case, variant, exporter, opset, "onnxruntime", "CPUExecutionProvider")
    row = Row.for_cell(cell, {"torch": env.split("-")[-1]}, run_id=run.run_id, env_id=env, status=status,
                       case_hash="abc", opset_actual=opset, finished_at="2026-12-01T00:00:00+00:00",
                       runtime_versions={"onnxruntime": "1.32.0", "transformers": "5.24.0"}, **fields).to_dict()
    return row


def make_model_results(out: Path) -> Path:
    """results/hf: LLaMA's kv_cache fails the dynamo export in torch-2.6.0, exports but diverges on onnxruntime in
    2.9.1, passes in 2.13.0; plus rows with an unknown status, no status, no case, and a line that is not JSON."""
    run = RunDir(out / "hf", "20261201T000000Z-0001")
    run.path.mkdir(parents=True)
    write_json(run.path / "run.json", {"run_id": run.run_id, "created": "2026-12-01T00:00:00+00:00"})
    plan = {"torch-2.6.0": ("export-fail", "pass"), "torch-2.9.1": ("diverge", "pass"), "torch-2.13.0": ("pass", "pass")}
    for env, (kv, plain) in plan.items():
        rows = [_row(run, env, "llama", "kv_cache", "dynamo", 18, kv, error=None if kv == "pass" else
                     f"{kv}: <b>torch.export</b> could not trace DynamicCache.update"),
                _row(run, env, "llama", "default", "dynamo", 18, plain),
                _row(run, env, "llama", "kv_cache", "torchscript", 17, "pass"),
                _row(run, env, "bert", "default", "torchscript", 17, "skip", error="transformers 4.0 has no BertModel")]
        if env == "torch-2.13.0":
            rows[0].update(stage_s={"export": 4.25}, export_peak_mb=310.4, onnx_bytes=3 * 2 ** 20, node_count=812,
                           dynamic_kept=True, extra_shapes=["input shapes 3x1", "input shapes 2x1"], latency_ms=0.9,
                           eager_ms=1.8, max_abs_err=2.5e-07)
            rows[1].update(dynamic_kept=False, dynamic_baked=["input_0[1]"], stage_s={"build": 0.1})
            rows += [_row(run, env, "bert", "default", "dynamo", 18, "melted", error="a status from the future"),
                     _row(run, env, "bert", "default", "torchscript", 18, None),
                     {"env_id": env, "status": "pass"}]
        for row in rows:
            append_row(run.rows_file(env), row, sync=False)
        write_json(run.catalogue_file(env), {"env_id": env, "cases": [_case("llama", "LLaMA", "decoder"),
                                                                      _case("bert", "BERT", "encoder"),
                                                                      {"id": "broken", "error": "SyntaxError"}]})
    with open(run.rows_file("torch-2.13.0"), "a") as handle:
        handle.write("{not json\n")
    return out


RELEASES = ["torch-2.6.0", "torch-2.9.1", "torch-2.13.0"]


def test_the_page_says_since_when_llama_with_a_cache_exports_and_agrees(tmp_path):
    results = make_model_results(tmp_path / "results")
    view, catalogue, problems = model_view(results)
    assert set(catalogue) == {"llama", "bert"}
    assert "melted" in set(view["status"])  # kept as it is; the page colours it "unknown"
    assert any("torch-2.13.0.jsonl" in p for p in problems)  # the line that is not JSON, named and skipped
    index, pages = models_context(results, RELEASES)
    table = index["tables"][0]
    assert table["runtime"].startswith("onnxruntime")
    kv = next(line for line in table["lines"] if (line["case"], line["variant"]) == ("llama", "kv_cache"))
    dynamo = next(s for s in kv["since"] if s["exporter"] == "dynamo")
    assert dynamo["exports"] == "from torch 2.9.1, opset 18"
    assert dynamo["agrees"] == "from torch 2.13.0, opset 18"
    assert index["packages"]["torch-2.13.0"] == ["transformers 5.24.0"]
    kinds = {c["kind"] for line in table["lines"] for c in line["cells"]}
    assert {"pass", "export-fail", "diverge", "skip", "unknown"} <= kinds
    assert [line["family"] for line in table["lines"]][0] == "encoder"  # encoders first, then decoders
    errors = pages["llama"]["errors"]
    assert {e["status"] for e in errors} == {"export-fail", "diverge"}
    assert all(e["folder"] == "hf" for e in errors)
    # what a deployer asks, from the newest release that wrote each file; a row lacking a figure shows a dash
    costs = {(c["variant"], c["exporter"]): c for c in pages["llama"]["costs"]}
    step = costs[("kv_cache", "dynamo")]
    assert step["env_id"] == "torch-2.13.0" and step["export_s"] == "4.2" and step["file_mb"] == "3.00"
    assert (step["dynamic"], step["shapes"], step["vs_eager"], step["nodes"]) == ("kept", "2", "0.50", "812")
    assert step["max_abs_err"] == "2.5e-07"
    plain = costs[("default", "dynamo")]
    assert plain["dynamic"] == "baked: input_0[1]" and plain["export_s"] == "–" and plain["latency"] == "–"


def test_the_page_renders_escaped_with_downloads_and_links(tmp_path):
    results = make_model_results(tmp_path / "results")
    build_site(results, tmp_path / "site", case_dirs=[])
    page = (tmp_path / "site" / "models.html").read_text()
    assert "<b>torch.export</b>" not in page and "&lt;b&gt;torch.export&lt;/b&gt;" in page
    assert 'href="models/llama.html#kv_cache"' in page and 'href="data/models.csv"' in page
    assert 'class="s-unknown"' in page and "s-melted" not in page
    data = json.loads((tmp_path / "site" / "data" / "models.json").read_text())
    assert {"dynamo exports since", "dynamo agrees since"} <= set(data["columns"])
    llama = (tmp_path / "site" / "models" / "llama.html").read_text()
    assert "python3 -m matrix repro" in llama and "--out results/hf" in llama
    assert 'id="costs"' in llama and "<td>kept</td>" in llama
    assert '<a href="models.html">models</a>' in (tmp_path / "site" / "index.html").read_text()  # the nav link


def test_no_model_rows_is_a_page_that_says_so(tmp_path):
    (tmp_path / "results").mkdir()
    index, pages = models_context(tmp_path / "results", RELEASES)
    assert index["tables"] == [] and pages == {}


def test_the_llama_question_in_one_click(tmp_path):
    """From the overview, one click on "models": the dynamo row of LLaMA with a KV cache says since when it
    exports and since when onnxruntime agrees; a cell opens the architecture's page at the variant."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing")
    results = make_model_results(tmp_path / "results")
    build_site(results, tmp_path / "site", case_dirs=[])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto((tmp_path / "site" / "index.html").as_uri())
            page.click("nav.top >> text=models")
            row = page.locator('tr[data-case="llama"][data-variant="kv_cache"]').first
            since = row.locator('td[data-since="dynamo"]').inner_text()
            assert "from torch 2.9.1" in since and "from torch 2.13.0" in since
            page.fill("#model-filter", "kv_cache")
            assert page.locator('tr[data-case="bert"]').first.is_hidden()
            assert "#model=kv_cache" in page.url
            row.locator("td.s-diverge a").first.click()
            assert page.url.endswith("models/llama.html#kv_cache")
            assert "diverge" in page.locator("#errors ~ div table").inner_text()
        finally:
            browser.close()


# -- a real run ------------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_tiny_models_run_for_real_in_torch_2_13(tmp_path):
    """BERT and LLaMA (with its KV cache) through both exporters at opset 18 on onnxruntime, in the lineup's
    torch-2.13.0 with its transformers beside it: rows pass, say which transformers built them, and no case
    reads as a change to the worker (transformers' patch of torch.nn.Module is made before the slate)."""
    if not (ENVS / "torch-2.13.0" / "bin" / "python").exists():
        pytest.skip("torch-2.13.0 is not built here")
    import sys
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-2.13.0", "--cases-dir", str(HF),
                           "--cases", "^(bert|llama)/", "--opsets", "18", "--runtimes", "ort-cpu", "--out", str(out),
                           "--jobs", "1", "--no-report", "--verbose"], cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from matrix.results.read import Results
    rows = Results(out).rows()
    assert len(rows) == 6  # bert/default, llama/default, llama/kv_cache × torchscript, dynamo
    assert set(rows["status"]) == {"pass"}, rows[["case", "variant", "exporter", "status", "error"]].to_string()
    assert {v.get("transformers") for v in rows["runtime_versions"]} == {"5.24.0"}
    assert rows["state_changed"].isna().all(), rows["state_changed"].dropna().tolist()
    # exported with the declared axes kept symbolic, and run at another batch and length (cache length for the step)
    assert rows["dynamic_kept"].all(), rows[["cell", "dynamic_baked"]].to_string()
    step = rows[rows["variant"] == "kv_cache"]
    assert all(any("x9x" in shape for shape in shapes) for shapes in step["extra_shapes"]), step["extra_shapes"].tolist()
    plain = rows[rows["variant"] == "default"]
    assert all(len(shapes) == 2 for shapes in plain["extra_shapes"]), plain["extra_shapes"].tolist()


def test_transformers_cells_are_judged_against_their_own_published_rows():
    """cases/hf are models published into results/hf: a case of that folder is judged by results/hf alone, one of
    cases/models by results/models alone. Both folders have a "resnet" (torch's and transformers'), whose cells
    have the same ids at the same opsets: each must be judged by its own folder's row."""
    from matrix.run.reference import Reference, published_in
    reference = Reference()
    assert published_in("models", {"file": "hf/resnet.py"}) == "hf"
    assert published_in("models", {"file": "models/resnet.py"}) is None and published_in("ops", {"file": "hf/x.py"}) is None
    hf = reference._load("models", "torch-2.13.0", False, "hf")
    torch_own = reference._load("models", "torch-2.13.0", False)
    assert "llama" in {c.split("/")[0] for c in hf} and "transformer_encoder" not in {c.split("/")[0] for c in hf}
    assert "transformer_encoder" in {c.split("/")[0] for c in torch_own} and "llama" not in {c.split("/")[0] for c in torch_own}
    shared = sorted(c for c in set(hf) & set(torch_own))
    assert shared and all(c.startswith("resnet/") for c in shared), shared[:5]
    # torch 2.6's dynamo: transformers' ResNet passes at opset 18 where torch's is a batch-fail
    hf, torch_own = (reference._load("models", "torch-2.6.0", False, also) for also in ("hf", None))
    cell = "resnet/default/dynamo/opset18/dynamic_axes=True/onnxruntime/CPUExecutionProvider"
    assert hf[cell]["status"] != torch_own[cell]["status"]
    row, meta = {"env_id": "torch-2.6.0", "cell": cell, "status": "pass"}, {"meta": {"corpus": "models"}}
    assert reference.judge(row, {**meta, "file": "hf/resnet.py"})["expected_status"] == hf[cell]["status"]
    assert reference.judge(row, {**meta, "file": "models/resnet.py"})["expected_status"] == torch_own[cell]["status"]


def test_each_release_runs_the_transformers_corpus_at_the_opsets_its_exporters_write():
    from matrix.run.corpora import hf_opsets
    assert [hf_opsets(t) for t in ("1.4.0", "1.12.1", "1.13.1", "2.0.1", "2.1.2", "2.3.1", "2.4.1", "2.13.0+cpu")] == \
        ["11", "11", "17", "17", "17,18", "17,18", "18", "18"]


def test_nox_models_runs_every_model_corpus():
    text = (REPO / "noxfile.py").read_text()
    session = text[text.index("def models(session"):text.index("# Two of the model corpus in the quick lineup")]
    assert "MODELS_ARGS" in session and "hf_opsets(entry.torch)" in session
    assert "for corpus in (HF_ARGS, VISION_ARGS)" in session


def test_a_case_id_in_both_model_folders_is_two_models(tmp_path):
    """torch's ResNet (results/models) and transformers' (results/hf) are both "resnet": two rows, two pages."""
    results = tmp_path / "results"
    for folder, status in (("models", "batch-fail"), ("hf", "pass")):
        run = RunDir(results / folder, "20261201T000000Z-0001")
        run.path.mkdir(parents=True)
        write_json(run.path / "run.json", {"run_id": run.run_id, "created": "2026-12-01T00:00:00+00:00"})
        append_row(run.rows_file("torch-2.6.0"), _row(run, "torch-2.6.0", "resnet", "default", "dynamo", 18, status),
                   sync=False)
        write_json(run.catalogue_file("torch-2.6.0"), {"env_id": "torch-2.6.0", "cases": [
            dict(_case("resnet", "ResNet", "vision"), file=f"{folder}/resnet.py", variants=["default"])]})
    view, catalogue, _ = model_view(results)
    assert dict(zip(view["case"], view["status"])) == {"resnet": "batch-fail", "resnet+hf": "pass"}
    assert catalogue["resnet+hf"]["file"] == "hf/resnet.py" and catalogue["resnet"]["file"] == "models/resnet.py"
    _, pages = models_context(results, RELEASES)
    assert set(pages) == {"resnet", "resnet+hf"}
