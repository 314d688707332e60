"""The published site: built from tiny results folders, robust to odd input, and working in a real browser."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

from matrix.results.archive import pack_exports
from matrix.results.rows import append_row
from matrix.results.store import RunDir, write_json
from matrix.views.site import PAGE_LIMIT, build_site, main
from matrix.wire import Cell, Row

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
OLD, NEW = "torch-1.4.0", "torch-2.15.0"  # two lineup entries: the site orders by the real lineup
EXPORT_CALL = ("import torch\n\n\ndef export_model(module, inputs, path):\n"
               "    torch.onnx.export(module, inputs, path, opset_version=9)\n")
RUNTIME_CALL = "def load_model(path):\n    return path\n\n\ndef run_model(session, arrays):\n    return arrays\n"
HOSTILE = "<script>alert('boom')</script> Incompatible dimensions"
CATALOGUE_CASES = [
    {"id": "expand_minus_one", "file": "/machine/cases/expand_minus_one.py", "case_hash": "abc", "error": None,
     "meta": {"title": "expand <b>(10, -1, -1)</b>", "pitfall": "the -1 goes into the ONNX shape", "seed": ["S12"],
              "links": ["https://example.org/issue"], "atol": 1e-4, "rtol": 1e-3, "batchable": False,
              "expect": [{"status": "load-fail", "torch": "<1.5", "runtime": "onnxruntime",
                          "match": "Incompatible dimensions", "reason": "onnxruntime refuses -1"}]},
     "variants": ["default", "workaround"],
     "variant_sources": {"default": "def build(): ...", "workaround": "def build_workaround(): ..."},
     "source": "# the case's source\n", "option_grid": [{}]},
    {"id": "broken_case", "file": "cases/broken_case.py", "error": "SyntaxError: invalid syntax (line 3)"},
]


def _row(run: RunDir, env_id: str, status: str, variant: str = "default", exporter: str = "torchscript",
         opset: int = 9, runtime_env: str | None = None, **fields) -> dict:
    cell = Cell("expand_minus_one", variant, exporter, opset, "onnxruntime", "CPUExecutionProvider",
                runtime_env=runtime_env)
    torch = env_id.split("-")[-1]
    return Row.for_cell(cell, {"torch": torch, "python": "3.7.16", "onnx": "1.6.0", "onnxruntime": "1.1.0"},
                        run_id=run.run_id, env_id=env_id, status=status, case_hash="abc", verdict="as-expected",
                        finished_at=f"{run.run_id[:8]}T00:00:00+00:00", export_call=EXPORT_CALL,
                        runtime_call=RUNTIME_CALL, stage="time" if status == "pass" else "load", atol=1e-4,
                        rtol=1e-3, **fields).to_dict()


def _run(out: Path, run_id: str, created: str) -> RunDir:
    run = RunDir(out, run_id)
    run.path.mkdir(parents=True)
    write_json(run.path / "run.json", {"run_id": run_id, "created": created})
    return run


def _environment(run: RunDir, env_id: str, rows: list[dict], exports: Path | None = None) -> None:
    for row in rows:
        append_row(run.rows_file(env_id), row, sync=False)
    write_json(run.catalogue_file(env_id), {"env_id": env_id, "cases": CATALOGUE_CASES})
    write_json(run.path / f"{env_id}.published.json",
               {"env_id": env_id, "run_id": run.run_id, "published_at": "2026-01-02T00:00:00+00:00",
                "run_finished": "2026-01-01T00:00:00+00:00", "cpu": "Test CPU", "gpu": None, "machine": "x86_64",
                "made_with": {"harness_version": "1.0.0", "commit": "abcdef1234567890"},
                "published_with": {"harness_version": "1.0.0", "commit": "abcdef1234567890"},
                "versions": {"torch": env_id.split("-")[-1]}, "pins": [f"torch=={env_id.split('-')[-1]}"],
                "rows": len(rows), "replay_rows": 0, "exports": 1})
    if exports is not None:
        (run.path / "exports").mkdir(exist_ok=True)
        (run.path / "exports" / f"{env_id}.tar.gz").write_bytes(pack_exports(exports))


def make_results(out: Path, tmp: Path, envs: tuple[str, ...] = (OLD, NEW)) -> Path:
    """A results folder: torch-1.4.0 in two runs (its naive cell passed, then failed), torch-2.15.0 in one."""
    files = tmp / "exported"
    files.mkdir(exist_ok=True)
    stem = Cell("expand_minus_one", "default", "torchscript", 9, "onnxruntime", "CPUExecutionProvider").export_stem("abc")
    (files / f"{stem}.onnx").write_bytes(b"onnx bytes")
    if OLD in envs:
        older = _run(out, "20260101T000000Z-0001", "2026-01-01T00:00:00+00:00")
        _environment(older, OLD, [_row(older, OLD, "pass", latency_ms=0.01, eager_ms=0.02),
                                  _row(older, OLD, "pass", variant="workaround", latency_ms=0.01)])
    newer = _run(out, "20260102T000000Z-0002", "2026-01-02T00:00:00+00:00")
    if OLD in envs:
        _environment(newer, OLD, [
            _row(newer, OLD, "load-fail", error=HOSTILE, error_type="Fail", opset_actual=9, node_count=5),
            _row(newer, OLD, "pass", variant="workaround", latency_ms=0.012, eager_ms=0.02, max_abs_err=1e-7),
            _row(newer, OLD, "run-fail", runtime_env=NEW, error="negative dimensions"),
        ], exports=files)
        write_json(newer.path / f"{OLD}.skips.json", {"env_id": OLD, "columns": [
            {"exporter": "dynamo", "opset_requested": 18, "runtime": "onnxruntime", "provider": "CPUExecutionProvider",
             "runtime_env": None, "reason": "torch 1.4.0 has no dynamo exporter (it arrived in 2.1)", "cells": 2}]})
    if NEW in envs:
        _environment(newer, NEW, [
            _row(newer, NEW, "pass", latency_ms=0.008, eager_ms=0.015, max_abs_err=0.0),
            _row(newer, NEW, "pass", variant="workaround", latency_ms=0.009),
            _row(newer, NEW, "export-fail", exporter="dynamo", opset=18, error="dynamo could not trace"),
        ])
    return out


@pytest.fixture
def site(tmp_path) -> Path:
    results = make_results(tmp_path / "results", tmp_path)
    built = build_site(results, tmp_path / "site", case_dirs=[])
    assert built.problems == []
    return tmp_path / "site"


def _html_pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def _cells_data(page: Path) -> dict:
    blob = re.search(r'<script type="application/json" id="cells-data">(.*?)</script>', page.read_text(), re.DOTALL)
    return json.loads(blob.group(1))


def test_every_page_is_written_small_and_self_contained(site):
    pages = {str(p.relative_to(site)) for p in _html_pages(site)}
    assert {"index.html", "plots.html", "history.html", f"env/{OLD}.html", f"env/{NEW}.html",
            "case/expand_minus_one.html", "case/broken_case.html", f"history/{OLD}.html", f"history/{NEW}.html",
            f"diff/{OLD}..{NEW}.html"} <= pages
    for page in _html_pages(site):
        html = page.read_text()
        assert page.stat().st_size < PAGE_LIMIT, page
        assert not re.search(r'\bsrc="(https?:)?//', html) and "<link" not in html, f"{page} fetches something"
        assert "<script>alert" not in html, f"{page} lets row text through unescaped"
    assert not list(site.rglob(".*.tmp")), "every page is written to a temporary name and renamed"


def test_overview_says_how_naive_code_and_workaround_do_per_release(site):
    html = (site / "index.html").read_text()
    assert "expand &lt;b&gt;(10, -1, -1)&lt;/b&gt;" in html and "S12" in html  # the pitfall in words, escaped
    assert f'href="env/{OLD}.html#case-expand_minus_one"' in html
    assert 'class="k-none"' in html and 'class="k-all"' in html  # the naive code fails in 1.4.0, passes in 2.15.0
    assert "Test CPU, no GPU" in html and "1.0.0 at commit abcdef123456" in html  # where the reference was made
    assert f"diff/{OLD}..{NEW}.html" in html and "plots.html" in html and "history.html" in html
    assert "broken_case" in html and "SyntaxError" in html
    assert "<svg" in html and "<?xml" not in html  # the share plot, inline


def test_environment_page_links_files_and_reproductions(site):
    page = site / "env" / f"{OLD}.html"
    html = page.read_text()
    assert "torch 1.4.0 has no dynamo exporter" in html  # the column not applicable, with its reason
    assert "@torch-2.15.0" in html  # the replay column
    data = _cells_data(page)
    text = lambda i: data["strings"][i]
    failing = next(c for c in data["cells"] if c["s"] == "load-fail")
    assert text(failing["e"]) == HOSTILE and "opset_version=9" in text(failing["x"])
    onnx = site / unquote(data["files"] + failing["o"])
    assert onnx.read_bytes() == b"onnx bytes"
    script = (site / unquote(failing["p"])).read_text()
    assert "opset_version=9" in script and "/machine/" not in script
    assert "uv venv" in text(failing["c"]) and text(failing["cr"]).endswith("repro.py") and failing["p"].endswith("/repro.py")
    assert "p" not in next(c for c in data["cells"] if c["s"] == "pass"), "a passing cell has nothing to reproduce"


def test_reproductions_are_written_once_per_script(tmp_path, site):
    scripts = sorted((site / "repro").rglob("*.py"))
    assert len(scripts) == 3  # the load-fail, the replay's run-fail, 2.15.0's export-fail
    before = {p: p.stat().st_mtime_ns for p in scripts}
    build_site(tmp_path / "results", site, case_dirs=[])
    assert {p: p.stat().st_mtime_ns for p in sorted((site / "repro").rglob("*.py"))} == before


def test_a_rebuild_drops_pages_of_what_is_gone(tmp_path, site):
    (site / "notes.txt").write_text("mine")
    (tmp_path / "more").mkdir()
    fewer = make_results(tmp_path / "fewer", tmp_path / "more", envs=(NEW,))
    build_site(fewer, site, case_dirs=[])
    assert not (site / "env" / f"{OLD}.html").exists() and not list((site / "repro").glob(f"{OLD}/*.py"))
    assert not (site / "files" / OLD).exists()
    assert (site / "env" / f"{NEW}.html").exists() and (site / "notes.txt").exists()


def test_history_shows_each_run_and_marks_changes(site):
    html = (site / "history" / f"{OLD}.html").read_text()
    assert "20260101T000000Z-0001" in html and "20260102T000000Z-0002" in html
    assert 'class="s-load-fail changed"' in html  # pass in the older run, load-fail now
    single = (site / "history" / f"{NEW}.html").read_text()
    assert "one published run" in single and 'class="s-pass changed"' not in single


def test_release_diff_lists_what_got_fixed(site):
    html = (site / "diff" / f"{OLD}..{NEW}.html").read_text()
    assert "Fixed (1 cell)" in html and "&lt;script&gt;alert" in html  # with the error it no longer has


def test_case_page_has_pitfall_expectations_and_where_it_works(site):
    html = (site / "case" / "expand_minus_one.html").read_text()
    assert "the -1 goes into the ONNX shape" in html and "onnxruntime refuses -1" in html
    assert "def build_workaround(): ..." in html and "k-none" in html and "k-all" in html
    assert "did not load" in (site / "case" / "broken_case.html").read_text()


def test_an_empty_folder_builds_a_site_that_says_so(tmp_path):
    built = build_site(tmp_path / "nothing", tmp_path / "site", case_dirs=[])
    assert "No results yet" in built.index.read_text()
    assert {"index.html", "plots.html", "history.html"} <= set(built.pages)


def test_one_environment(tmp_path):
    results = make_results(tmp_path / "results", tmp_path, envs=(NEW,))
    built = build_site(results, tmp_path / "site", case_dirs=[])
    assert not (tmp_path / "site" / "diff").exists()
    assert f"env/{NEW}.html" in built.pages and "one published run" in (tmp_path / "site" / "history" / f"{NEW}.html").read_text()


def test_odd_rows_and_cases_do_not_stop_the_build(tmp_path):
    out = tmp_path / "results"
    run = _run(out, "20260101T000000Z-0001", "2026-01-01T00:00:00+00:00")
    odd_env, odd_case = "../../outside me", "<img src=x onerror=alert(1)>"
    lines = [
        {"schema_version": 2, "env_id": odd_env, "cell": "c1", "case": odd_case, "variant": "default",
         "exporter": "torchscript", "runtime": "onnxruntime", "status": "export-fail", "error": None},
        {"schema_version": 2, "env_id": odd_env, "cell": "c2", "case": "no_meta", "variant": "v", "exporter": "x",
         "runtime": "r", "status": "pass", "opset_requested": None, "latency_ms": float("nan"), "provider": None},
        {"schema_version": 2, "env_id": "lonely", "cell": "c3", "case": "wrong_meta", "variant": "default",
         "exporter": "torchscript", "runtime": "onnxruntime", "status": "weird-status", "opset_requested": 11,
         "finished_at": 12345},
    ]
    (run.path / "odd.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines) + "{torn")
    write_json(run.path / "odd.catalogue.json", {"cases": [
        {"id": "no_meta", "error": "ImportError: no module named nothing"},
        {"id": "wrong_meta", "meta": {"title": 5, "seed": "S1"}, "variants": "default"},
        {"id": "bare"},
    ]})
    (run.path / "bad.skips.json").write_text("[")
    built = build_site(out, tmp_path / "site", case_dirs=[])
    site = (tmp_path / "site").resolve()
    for page in _html_pages(site):
        assert page.resolve().is_relative_to(site)
        assert "<img src=x" not in page.read_text()
    assert any("bad.skips.json" in p for p in built.problems)
    index = built.index.read_text()
    assert "not in the lineup" in index and "wrong_meta" in index and "ImportError" in index


def test_the_command_line(tmp_path, capsys):
    assert main(["--from", str(tmp_path / "missing"), "--out", str(tmp_path / "site")]) == 2
    assert "no such results folder" in capsys.readouterr().err
    results = make_results(tmp_path / "results", tmp_path)
    assert main(["--from", str(results), "--out", str(tmp_path / "site")]) == 0
    assert "largest page" in capsys.readouterr().err
    (tmp_path / "a file").write_text("")
    assert main(["--from", str(results), "--out", str(tmp_path / "a file")]) == 2
    assert "cannot be written" in capsys.readouterr().err
    (tmp_path / "lineup.toml").write_text("[[env]\n")
    assert main(["--from", str(results), "--out", str(tmp_path / "site"), "--lineup", str(tmp_path / "lineup.toml")]) == 0
    assert "name order" in capsys.readouterr().err


def test_the_site_never_imports_torch(tmp_path):
    results = make_results(tmp_path / "results", tmp_path)
    code = ("import sys; from pathlib import Path; from matrix.views.site import build_site; "
            f"build_site(Path({str(results)!r}), Path({str(tmp_path / 'site')!r}), case_dirs=[]); "
            "sys.exit('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:] or "the site imported torch"


# -- a real browser ----------------------------------------------------------------------------------

def _browser_or_skip():
    """Playwright's API driving Debian's Chromium; CI must have both (.ci/run installs chromium)."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright, reason = None, "playwright is not installed (pip install -r requirements.txt)"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # CI must not pass by skipping the browser
        pytest.skip(reason)
    return sync_playwright


def test_the_site_in_a_browser(site):
    sync_playwright = _browser_or_skip()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)  # a missing element fails in seconds, not half a minute
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto((site / "index.html").as_uri())
            assert "PyTorch → ONNX" in page.title()

            # an overview cell leads to the environment's matrix, at that case
            page.click(f'td.ov a[href="env/{OLD}.html#case-expand_minus_one"] >> nth=0')
            page.wait_for_url(f"**/env/{OLD}.html#case-expand_minus_one")
            assert page.locator("tr.focus").count() >= 1

            # a failing cell shows its error and its reproduction
            page.click('td.cell[data-s="load-fail"]')
            panel = page.locator("#panel")
            panel.wait_for(state="visible")
            assert HOSTILE in panel.locator('[data-slot="error"]').inner_text()
            repro = panel.locator('[data-slot="repro"]').get_attribute("href")
            assert repro.startswith("../repro/") and (site / unquote(repro[3:])).exists()
            assert "uv venv" in panel.locator('[data-slot="command"]').inner_text()
            assert "opset_version=9" in panel.locator('[data-slot="export_call"]').inner_text()
            page.keyboard.press("Escape")
            panel.wait_for(state="hidden")

            # the filter hides rows: without passing cells, the workaround's row (all pass) goes
            rows = page.locator("#matrix tbody tr")
            visible = lambda: sum(1 for i in range(rows.count()) if rows.nth(i).is_visible())
            before = visible()
            page.uncheck('#filter input[name="status"][value="pass"]')
            assert visible() < before
            assert not page.locator("#matrix tbody tr", has_text="workaround").first.is_visible()
            page.click('#filter button[type="reset"]')
            page.wait_for_function("document.querySelectorAll('#matrix tbody tr[hidden]').length === 0")
            assert visible() == before

            for other in _html_pages(site):  # every page loads without an error, and fetches nothing
                page.goto(other.as_uri())
        finally:
            browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith("file://")] == []
    assert all(page.stat().st_size < PAGE_LIMIT for page in _html_pages(site))


def test_the_site_follows_no_symlinked_exports(tmp_path):
    """A results folder from elsewhere whose exports are links (to a system file, say): named, never read."""
    from matrix.results.read import Results
    secret = tmp_path / "secret.tar.gz"
    secret.write_bytes(b"not yours")
    run = RunDir(tmp_path / "results", "r1")
    (run.path / "exports").mkdir(parents=True)
    write_json(run.meta_file, {"run_id": "r1", "created": "2026-01-01T00:00:00+00:00"})
    (run.path / "exports" / "torch-x.tar.gz").symlink_to(secret)
    results = Results(tmp_path / "results")
    assert results.exports() == []
    assert any("symbolic link, not read" in problem for problem in results.problems)


def test_a_pages_string_table_stays_within_its_budget_by_construction():
    from matrix.views.site.strings import FLOOR, Strings
    strings = Strings(budget=10_000)
    for i in range(500):  # 500 distinct errors of 4,000 characters each: 2 MB of text
        strings(f"{i}: " + "x" * 4000)
    total = sum(len(s) for s in strings.items)
    assert total < 10_000 + 500 * (FLOOR + 60), total
    assert strings.items[0].startswith("0: xxx") and "more characters in the results" in strings.items[-1]
    assert strings("0: " + "x" * 4000) == 0, "a text seen before is the same entry"


def test_the_published_site_in_a_browser_counts_files_as_compare_does(published_site):
    """Built from results/: no dynamo column or cell claims an opset its file does not have, the overview's and
    every environment page's counts are compare's, the opset filter shows one opset, and the overview answers
    "since which torch release does variable-length list export work?" in its own words."""
    from matrix.results.read import Results
    from matrix.views.compare import compare_runs
    sync_playwright = _browser_or_skip()
    results = REPO / "results"
    built, _ = published_site
    expected = compare_runs(results, str(results), str(results)).counts
    rows = Results(results).rows()
    written = {env: {int(o) for o in sub["opset_actual"].dropna()}
               for env, sub in rows[rows["exporter"] == "dynamo"].groupby("env_id")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            page.goto(built.index.as_uri())
            shown = page.eval_on_selector_all("[data-count][data-cells]", "els => els.map(e => "
                                              "[e.dataset.count, +e.dataset.cells, +e.dataset.passed])")
            assert shown and {env: (cells, passed) for env, cells, passed in shown} == {
                env: (c["cells"], c["passed"]) for env, c in expected.items()}
            since = page.locator("div.since", has=page.locator('a[href="case/list_variable_length.html#since"]'))
            assert "naive: torchscript: from torch 1.9.1, opset ≥ 11 · never with dynamo" in since.inner_text()
            assert since.is_visible(), "in the sticky pitfall column: seen on load, whichever releases are in view"
            # any two releases from the picker; the diff counts files (dynamo's three requests are one cell)
            page.select_option('#pair select[name="before"]', "torch-2.4.1")
            page.select_option('#pair select[name="after"]', "torch-2.15.0")
            page.click('#pair button[type="submit"]')
            page.wait_for_url("**/diff/torch-2.4.1..torch-2.15.0.html")
            sides = page.eval_on_selector_all("[data-count][data-cells]", "els => els.map(e => "
                                              "[e.dataset.count, +e.dataset.cells])")
            assert sides == [[env, expected[env]["cells"]] for env in ("torch-2.4.1", "torch-2.15.0")]
            assert "requested 9" not in page.locator("body").inner_text().replace("requested 9, 11 → wrote 18", "")
            page.go_back()
            for env, count in expected.items():
                page.goto((built.index.parent / "env" / f"{env}.html").as_uri())
                counts = page.locator("#counts")
                assert (int(counts.get_attribute("data-cells")), int(counts.get_attribute("data-with-replays"))) == (
                    count["cells"], count["with_replays"]), env
                claimed = page.eval_on_selector_all('#matrix thead th[data-exporter="dynamo"]',
                                                    "els => els.map(e => +e.dataset.opset)")
                assert set(claimed) <= written.get(env, set()), (env, claimed)
                titles = page.evaluate("""() => { const d = JSON.parse(document.getElementById('cells-data').textContent);
                    return d.cells.map(c => d.strings[c.t]).filter(t => t.includes(' dynamo ')); }""")
                assert not [t for t in titles if re.search(r"dynamo opset (9|11) ", t)], env
                if claimed:
                    page.select_option('#filter select[name="opset"]', "18")
                    visible = page.eval_on_selector_all("#matrix thead th[data-c]", "els => els.filter(e => !e.hidden)"
                                                        ".map(e => e.dataset.opset)")
                    assert visible and set(visible) == {"18"}
            _operators_answer_in_one_click(page, built.index, results / "ops")
        finally:
            browser.close()


def _operators_answer_in_one_click(page, index: Path, ops_results: Path) -> None:
    """"Since which opset does roll work on torch 2.6 on onnxruntime?": one click from the overview (the
    navigation's operators), the row of roll, the column of 2.6.0 — and it says what ops query says."""
    from matrix.views.ops import answer
    if not (ops_results / "runs").is_dir():
        pytest.fail(f"{ops_results} holds no op results: publish them (README, the operator corpus)")
    page.goto(index.as_uri())
    page.click('nav.top a[href="operators.html"]')
    page.wait_for_url("**/operators.html")
    header = page.eval_on_selector_all("#ops thead th", "els => els.map(e => e.textContent.trim())")
    column = header.index("2.6.0")
    cell = page.locator('#ops tbody tr[data-op="roll"] > *').nth(column).inner_text()
    text, found = answer(ops_results, "roll", torch="2.6.0", runtime="onnxruntime", exporter="torchscript")
    assert found, text
    line = next(line for line in text.splitlines() if "float32" in line)
    low = re.search(r"works (?:from|at) opset (\d+)", line).group(1)
    assert f"✓ ≥{low}" in cell or f"✓ {low}" in cell, (cell, line)


def test_a_case_across_releases_and_runs_and_its_supported_since(site):
    """A case's cells across releases in one compact table (its release's runs where they disagree), its
    "supported since" on its page and in words on the overview, and a diff page for any two releases."""
    across = (site / "history" / "cases" / "expand_minus_one.html").read_text()
    assert "1.4.0</a>" in across and "2.15.0</a>" in across and 'class="history-box"' in across
    assert "runs, oldest first: pass → load-fail" in across and "↻" in across  # 1.4.0's naive cell, two runs
    case = (site / "case" / "expand_minus_one.html").read_text()
    assert 'id="since"' in case and "from torch 2.15.0, opset 9" in case and "never" in case
    assert "history/cases/expand_minus_one.html" in case
    index = (site / "index.html").read_text()
    assert "naive: torchscript: from torch 2.15.0, opset 9 · never with dynamo" in index
    assert f'"{OLD}..{NEW}":"diff/{OLD}..{NEW}.html"' in index  # the picker's target
    diff = (site / "diff" / f"{OLD}..{NEW}.html").read_text()
    assert 'id="diff-summary"' in diff and "exporter torchscript" in diff
