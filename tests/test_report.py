"""The report renders from tiny results, escapes what rows carry, and opens offline."""
from __future__ import annotations

import json
import re

from matrix.results.rows import append_row
from matrix.results.store import RunDir, write_json
from matrix.views.report import render_report
from matrix.wire import Row

EXPORT_CALL = ("import torch\n\n\ndef export_model(module, inputs, path):\n"
               "    torch.onnx.export(module, inputs, path, opset_version=9)\n")


def seed_results(out):
    run = RunDir(out, "20260101T000000Z-0001")
    run.path.mkdir(parents=True)
    common = dict(run_id=run.run_id, env_id="torch-x", case="expand_minus_one", variant="default",
                  exporter="torchscript", opset_requested=9, runtime="onnxruntime", provider="CPUExecutionProvider",
                  torch="1.4.0", python="3.7.16", finished_at="2026-01-01T00:00:00+00:00", case_hash="abc")
    append_row(run.rows_file("torch-x"), Row(cell="c1", status="load-fail", stage="load", verdict="as-expected",
                                             error="<script>alert('boom')</script> Incompatible dimensions",
                                             opset_actual=9, node_count=5, export_call=EXPORT_CALL,
                                             runtime_call="def load_model(path):\n    pass\n", **common).to_dict())
    append_row(run.rows_file("torch-x"), Row(cell="c2", status="pass", verdict="as-expected", max_abs_err=1e-7,
                                             latency_ms=0.01, **{**common, "variant": "workaround"}).to_dict())
    write_json(run.catalogue_file("torch-x"), {"env_id": "torch-x", "versions": {}, "capabilities": {}, "cases": [
        {"id": "expand_minus_one", "file": "/x/cases/expand_minus_one.py", "case_hash": "abc", "error": None,
         "meta": {"title": "expand <b>", "pitfall": "p", "seed": ["S12"], "links": [], "atol": 1e-4, "rtol": 1e-3,
                  "batchable": False, "expect": []},
         "variants": ["default", "workaround"], "variant_sources": {"default": "def build(): ...",
                                                                    "workaround": "def build_workaround(): ..."},
         "source": "# source", "option_grid": [{}]}]})
    return run


def test_report_escapes_row_text_and_is_self_contained(tmp_path):
    seed_results(tmp_path)
    index, problems = render_report(tmp_path)
    html = index.read_text()
    assert problems == []
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;boom&#39;)&lt;/script&gt;" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must not fetch anything"
    assert "<link" not in html
    assert "load-fail" in html and "torch-x" in html
    case_page = (tmp_path / "cases" / "expand_minus_one.html").read_text()
    assert "expand &lt;b&gt;" in case_page and "opset_version=9" in case_page  # the reproduction
    assert "/x/cases" not in case_page, "a reproduction names no folder of the machine that ran it"


def test_bad_result_files_are_named_not_fatal(tmp_path):
    run = seed_results(tmp_path)
    (run.path / "broken.jsonl").write_text("{not json\n")
    (run.path / "future.jsonl").write_text(json.dumps({"schema_version": 99, "cell": "x"}) + "\n")
    (run.path / "bad.catalogue.json").write_text("[")
    index, problems = render_report(tmp_path)
    text = "\n".join(problems)
    assert "broken.jsonl:1: not JSON" in text
    assert "future.jsonl:1: schema_version 99 is newer" in text
    assert "bad.catalogue.json: not JSON" in text
    assert "broken.jsonl" in index.read_text()


def test_cells_not_as_expected_are_listed(tmp_path):
    run = seed_results(tmp_path)
    index, _ = render_report(tmp_path)
    assert "Every cell is as its case expects" in index.read_text()
    append_row(run.rows_file("torch-x"), Row(run_id=run.run_id, env_id="torch-x", cell="c3", case="expand_minus_one",
                                             variant="default", exporter="dynamo", opset_requested=18,
                                             runtime="onnxruntime", provider="CPUExecutionProvider",
                                             status="export-fail", verdict="regression", error="boom",
                                             finished_at="2026-01-01T00:00:01+00:00").to_dict())
    html = render_report(tmp_path)[0].read_text()
    assert "Every cell is as its case expects" not in html
    assert "<b>regression</b>:" in html and "dynamo" in html and "boom" in html


def test_integers_show_as_integers(tmp_path):
    seed_results(tmp_path)
    html = render_report(tmp_path)[0].read_text()
    assert "produced 9)" in html and "opset 9 (" in html and "<dd>5</dd>" in html
    assert "9.0" not in html and "5.0<" not in html


def test_a_broken_case_is_listed_and_the_report_renders(tmp_path):
    run = seed_results(tmp_path)
    catalogue = json.loads(run.catalogue_file("torch-x").read_text())
    catalogue["cases"].append({"id": "syntax_error", "file": "cases/syntax_error.py",
                               "error": "cases/syntax_error.py: syntax error at line 3: invalid syntax"})
    catalogue["cases"].append({"id": "no_meta", "file": "cases/no_meta.py", "error": None})  # a malformed entry
    write_json(run.catalogue_file("torch-x"), catalogue)
    index, problems = render_report(tmp_path)
    html = index.read_text()
    assert "cases/syntax_error.py: syntax error at line 3" in html
    assert "no metadata for this case" in html
    assert "syntax error at line 3" in (tmp_path / "cases" / "syntax_error.html").read_text()


def test_a_row_of_an_older_case_source_is_marked_stale(tmp_path):
    seed_results(tmp_path)
    cases = tmp_path / "cases_now"
    cases.mkdir()
    (cases / "expand_minus_one.py").write_text("# edited since the run\n")
    index, _ = render_report(tmp_path, case_dirs=[cases])
    html = index.read_text()
    assert "cell(s) are stale" in html and re.search(r'<td class="cell [^"]* stale"', html), "the cell is faded"
    index, _ = render_report(tmp_path, case_dirs=[])
    html = index.read_text()
    assert "cell(s) are stale" not in html and not re.search(r'<td class="cell [^"]* stale"', html)


def two_runs(out, older, newer):
    """The same cell in two runs: ``older`` started first and says load-fail, ``newer`` says pass."""
    for run_id, created, status in ((older, "2026-01-01T00:00:00+00:00", "load-fail"),
                                    (newer, "2026-02-01T00:00:00+00:00", "pass")):
        run = RunDir(out, run_id)
        write_json(run.meta_file, {"run_id": run_id, "created": created, "selection": {}})
        append_row(run.rows_file("torch-x"), Row(run_id=run_id, env_id="torch-x", cell="c1", case="expand_minus_one",
                                                 variant="default", exporter="torchscript", runtime="onnxruntime",
                                                 status=status, finished_at=created).to_dict())


def test_newest_is_the_run_that_started_last_not_the_last_name(tmp_path):
    from matrix.envs.lineup import load_lineup
    from matrix.results.read import Results
    from matrix.views.compare import load_side
    from matrix.views.frames import current_view
    from matrix.views.report import build_context
    from matrix.views.site.load import load
    for older, newer in (("zzz-ci-7", "aaa-1"), ("gha-5-9", "gha-5-10")):
        out = tmp_path / newer
        two_runs(out, older, newer)
        view = current_view(Results(out).rows())
        assert list(view["status"]) == ["pass"] and list(view["run_id"]) == [newer]
        context = build_context(Results(out, []), load_lineup())
        assert context["envs"][0]["run_id"] == newer
        assert list(load(out, [], []).view["run_id"]) == [newer]  # the site
        assert list(load_side(str(out), out)[0]["status"]) == ["pass"]  # compare and diff


def test_a_case_id_from_a_foreign_catalogue_never_writes_outside_cases(tmp_path):
    out = tmp_path / "deep" / "out"
    run = seed_results(out)
    hostile = "../../../escaped"
    append_row(run.rows_file("torch-x"), Row(run_id=run.run_id, env_id="torch-x", cell="h1", case=hostile,
                                             variant="default", exporter="torchscript", opset_requested=9,
                                             runtime="onnxruntime", provider="CPUExecutionProvider", status="pass",
                                             verdict="as-expected").to_dict())
    catalogue = json.loads(run.catalogue_file("torch-x").read_text())
    catalogue["cases"].append({**catalogue["cases"][0], "id": hostile})
    write_json(run.catalogue_file("torch-x"), catalogue)
    render_report(out)
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    assert all(p.startswith("deep/out/") for p in written), written
    pages = sorted(p.name for p in (out / "cases").iterdir())
    hostile_page = next(p for p in pages if p.startswith("escaped-"))
    assert f'href="cases/{hostile_page}"' in (out / "index.html").read_text()


def test_the_report_of_the_whole_lineup_is_no_wider_than_a_laptop_screen(tmp_path):
    """Eleven releases of the published results: wide tables scroll in their own boxes, never the page."""
    import shutil

    from conftest import REPO
    from test_site import CHROMIUM, CHROMIUM_ARGS, _browser_or_skip
    sync_playwright = _browser_or_skip()
    shutil.copytree(REPO / "results" / "runs", tmp_path / "runs")
    render_report(tmp_path)
    pages = [tmp_path / "index.html", *sorted((tmp_path / "cases").glob("*.html"))[:2]]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for path in pages:
                page.goto(path.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 1440, f"{path.name} is {width} px wide"
                boxed = page.evaluate("document.querySelector('.scroll').scrollWidth")
                assert boxed > 1440  # the matrix itself is wider: it scrolls in its box
        finally:
            browser.close()
