"""The site's shell in a real browser (Playwright driving Debian's Chromium): layout at 1440 and 390 px,
the keyboard, permalinks, downloads that match the page, contrast, and the files for scripts."""
from __future__ import annotations

import collections
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import pytest

from matrix.envs.lineup import load_lineup
from matrix.views.site import PAGE_LIMIT, build_site
from tests.test_site import CHROMIUM, CHROMIUM_ARGS, HOSTILE, _browser_or_skip, _cells_data, _environment, _row, _run

LINEUP_IDS = [entry.id for entry in load_lineup() if not entry.id.endswith("-gpu")]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def wide_site(tmp_path_factory) -> Path:
    """Every release of the lineup, as the published site has them: an overview wider than a screen."""
    tmp = tmp_path_factory.mktemp("wide")
    run = _run(tmp / "results", "20260102T000000Z-0002", "2026-01-02T00:00:00+00:00")
    for i, env_id in enumerate(LINEUP_IDS):
        broken = i % 3 == 1  # some releases fail, so diffs, feeds and reproductions have something to say
        _environment(run, env_id, [
            _row(run, env_id, "load-fail" if broken else "pass", error=HOSTILE + " \x1b[96mcoloured\x1b[0m" if broken else None,
                 latency_ms=0.0042, latency_p90_ms=0.05, eager_ms=64.0 if i == 2 else 0.054),
            _row(run, env_id, "pass", variant="workaround", latency_ms=0.01, eager_ms=0.054),
            _row(run, env_id, "export-fail", exporter="dynamo", opset=18, error="dynamo could not trace"),
        ])
    built = build_site(tmp / "results", tmp / "site", case_dirs=[])
    assert built.problems == [] and not built.oversized
    return tmp / "site"


def test_tables_come_as_csv_and_json_with_the_rows_of_the_page(wide_site):
    env_page = wide_site / "env" / f"{LINEUP_IDS[1]}.html"
    data = _cells_data(env_page)
    rows = list(csv.DictReader(io.StringIO((wide_site / "data" / "env" / f"{LINEUP_IDS[1]}.csv").read_text())))
    assert [r["cell"] for r in rows] == [c["k"] for c in data["cells"]]  # one row per cell, in the page's order
    assert [r["status"] for r in rows] == [c["s"] for c in data["cells"]]
    document = json.loads((wide_site / "data" / "env" / f"{LINEUP_IDS[1]}.json").read_text())
    assert document["columns"] == list(rows[0]) and [r["cell"] for r in document["rows"]] == [r["cell"] for r in rows]
    assert f'href="../data/env/{LINEUP_IDS[1]}.csv"' in env_page.read_text()
    assert "\x1b" not in rows[0]["error"] and "coloured" in next(r["error"] for r in rows if r["error"])


def test_index_json_and_the_feeds_list_what_the_site_has(wide_site):
    index = json.loads((wide_site / "index.json").read_text())
    assert [e["id"] for e in index["envs"]] == LINEUP_IDS
    for item in [*index["pages"], *(d["csv"] for d in index["downloads"]), *(d["json"] for d in index["downloads"])]:
        assert (wide_site / item).is_file(), item
    feed = json.loads((wide_site / "regressions.json").read_text())
    assert feed["regressions"] and all((wide_site / r["page"]).is_file() for r in feed["regressions"])
    assert all("\x1b" not in r["error"] for r in feed["regressions"])
    atom = ET.fromstring((wide_site / "regressions.xml").read_bytes())
    entries = atom.findall(f"{ATOM}entry")
    assert len(entries) == len(LINEUP_IDS) - 1 and "broke" in entries[0].find(f"{ATOM}title").text
    assert (wide_site / entries[0].find(f"{ATOM}link").get("href")).is_file()


def test_context_page_states_claims_default_exporter_and_upstream_links(wide_site):
    html = (wide_site / "context.html").read_text()
    assert "S12" in html and "pytorch/pytorch/pull/159646" in html
    assert html.count("<b>dynamo</b>") == sum(1 for e in LINEUP_IDS if tuple(map(int, e[6:].split(".")[:2])) >= (2, 9))
    case = (wide_site / "case" / "expand_minus_one.html").read_text()
    assert "https://github.com/pytorch/pytorch/issues/32926" in case  # an upstream issue of the pitfall
    assert 'download="repro.py"' in case and "/repro.py" in case  # the case page carries its reproductions


def _contrast_failures(page) -> list[str]:
    """Text whose colour against the nearest opaque background is under 4.5:1 (WCAG AA), at most ten."""
    return page.evaluate("""() => {
      const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => { const f = c => { c /= 255; return c <= .03928 ? c / 12.92 : ((c + .055) / 1.055) ** 2.4; };
                                   return .2126 * f(r) + .7152 * f(g) + .0722 * f(b); };
      const background = el => { for (; el; el = el.parentElement) { const s = getComputedStyle(el);
          if (s.backgroundImage !== 'none') return null; const c = rgb(s.backgroundColor); if (c.length === 3 || c[3] > .9) return c; }
        return [255, 255, 255]; };
      const bad = [];
      for (const el of document.querySelectorAll('body *')) {
        if (el.closest('svg, [hidden], .skip') || !el.offsetParent) continue;
        if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
        const bg = background(el); if (!bg) continue;
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg);
        const ratio = (Math.max(a, b) + .05) / (Math.min(a, b) + .05);
        if (ratio < 4.5) bad.push(el.tagName + '.' + el.className + ' ' + ratio.toFixed(2) + ' ' + el.textContent.trim().slice(0, 30));
      }
      return bad.slice(0, 10);
    }""")


def test_the_shell_in_a_browser(wide_site):
    sync_playwright = _browser_or_skip()
    errors: list[str] = []
    requests: list[str] = []
    newest = LINEUP_IDS[-1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(10_000)
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))

            # the overview opens with the newest release in view, and the page is no wider than the window
            page.goto((wide_site / "index.html").as_uri())
            box = page.locator("#overview-box").bounding_box()
            header = page.locator("table.overview thead th", has_text=f"torch {newest.split('-')[1]}").bounding_box()
            assert box["x"] <= header["x"] and header["x"] + header["width"] <= min(1440, box["x"] + box["width"]) + 1
            assert page.evaluate("document.documentElement.scrollWidth") <= 1440
            assert page.locator("table.overview [data-cell][tabindex='0']").count() == 1  # one Tab stop
            assert _contrast_failures(page) == []

            # the keyboard: Tab reaches the matrix, arrows move, Enter opens a labelled dialog, Esc gives focus back
            env = LINEUP_IDS[1]
            page.goto((wide_site / "env" / f"{env}.html").as_uri())
            page.focus('#filter button[type="reset"]')
            for _ in range(4):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.matches('#matrix td.cell')"):
                    break
            assert page.evaluate("document.activeElement.matches('#matrix td.cell')"), "Tab never reached a cell"
            first = page.evaluate("document.activeElement.dataset.i")
            page.keyboard.press("ArrowRight")
            moved = page.evaluate("document.activeElement.dataset.i")
            assert moved != first and page.locator("#matrix [data-cell][tabindex='0']").count() == 1
            page.keyboard.press("Enter")
            panel = page.locator("#panel")
            panel.wait_for(state="visible")
            title = page.evaluate("document.getElementById(document.getElementById('panel').getAttribute('aria-labelledby')).textContent")
            assert env not in title and " / " in title
            assert "#cell=" in page.url
            page.keyboard.press("Escape")
            panel.wait_for(state="hidden")
            assert page.evaluate("document.activeElement.dataset.i") == moved
            assert _contrast_failures(page) == []

            # a cell's permalink opens that cell; a filter in the address is the filter on load
            failing = next(c for c in _cells_data(wide_site / "env" / f"{env}.html")["cells"] if c["s"] == "load-fail")
            page.goto((wide_site / "env" / f"{env}.html").as_uri() + "#cell=" + quote(failing["k"], safe="/"))
            panel.wait_for(state="visible")
            assert HOSTILE in panel.locator('[data-slot="error"]').inner_text()
            assert "\x1b" not in panel.locator('[data-slot="error"]').inner_text()
            index = str(_cells_data(wide_site / "env" / f"{env}.html")["cells"].index(failing))
            assert page.evaluate("document.activeElement.id") == "panel"  # the dialog has the keyboard
            page.keyboard.press("Escape")
            assert page.evaluate("document.activeElement.dataset.i") == index  # and gives it to the linked cell
            page.goto((wide_site / "env" / f"{env}.html").as_uri() + "#hide=pass&exporter=dynamo")
            assert not page.is_checked('#filter input[value="pass"]')
            assert page.input_value('#filter select[name="exporter"]') == "dynamo"
            page.check('#filter input[value="pass"]')
            assert "hide=" not in page.url and "exporter=dynamo" in page.url

            # the search page finds error text, offline
            page.goto((wide_site / "search.html").as_uri() + "?q=incompatible")
            assert page.locator("#results li").count() >= 1
            assert "Incompatible dimensions" in page.locator("#results").inner_text()

            # a phone: no page wider than the screen, the navigation one line, wide tables scroll in their boxes
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            phone.on("pageerror", lambda error: errors.append(str(error)))
            phone.on("request", lambda request: requests.append(request.url))
            for other in sorted(wide_site.rglob("*.html")):
                phone.goto(other.as_uri())
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{other.relative_to(wide_site)} is {width} px wide on a phone"
            phone.goto((wide_site / "env" / f"{env}.html").as_uri())
            assert phone.evaluate("document.querySelector('nav.top').offsetHeight") < 60
            # the releases are a menu that opens inside the screen, whatever the bar's own scrolling
            phone.click("nav.top details.envs summary")
            box = phone.locator("nav.top details.envs .menu a").first.bounding_box()
            assert box and 0 <= box["x"] and box["x"] + box["width"] <= 390, box
            rowhead, scroller = phone.evaluate("[document.querySelector('#matrix tbody th.rowhead').offsetWidth,"
                                               " document.querySelector('.scroll').clientWidth]")
            assert rowhead < scroller / 2, (rowhead, scroller)
        finally:
            browser.close()
    assert errors == []
    assert [url for url in requests if not url.startswith("file://")] == []
    assert all(p.stat().st_size < PAGE_LIMIT for p in wide_site.rglob("*.html"))


def test_latency_reads_in_its_unit_and_outliers_are_flagged(wide_site):
    data = _cells_data(wide_site / "env" / f"{LINEUP_IDS[2]}.html")
    text = lambda i: data["strings"][i]
    latencies = [text(v) for c in data["cells"] for k, v in c["f"] if text(k) == "latency"]
    assert any("median 4.2 µs" in f for f in latencies) and not any("0.0042" in f for f in latencies)
    checks = [text(v) for c in data["cells"] for k, v in c["f"] if text(k) == "latency check"]
    assert any("eager torch 64 ms" in c and "outlier" in c for c in checks)  # 64 ms against 0.054 ms elsewhere
    assert any("noisy" in c for c in checks)  # a p90 twelve times the median
    counts = collections.Counter(c["s"] for c in data["cells"])
    assert counts["pass"] >= 1 and 'class="cell s-pass v-as-expected odd"' in (
        wide_site / "env" / f"{LINEUP_IDS[2]}.html").read_text()


def test_the_overview_csv_has_a_row_per_cell_of_the_page(wide_site):
    html = (wide_site / "index.html").read_text()
    rows = list(csv.DictReader(io.StringIO((wide_site / "data" / "index.overview.csv").read_text())))
    shown = re.findall(r'<a class="k-(\w+)" data-cell href="env/([^"#]+)\.html#', html)
    assert collections.Counter((r["kind"], r["env_id"]) for r in rows) == collections.Counter(shown)
    assert 'href="data/index.overview.csv"' in html and 'href="data/index.overview.json"' in html


def test_a_history_shows_only_what_changed_when_asked(wide_site):
    """The site's one "only what changed" behaviour (site.js), on a case's cells across releases."""
    sync_playwright = _browser_or_skip()
    page_file = next((wide_site / "history" / "cases").glob("*.html"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            rows = page.locator("#across tbody tr")
            changed = page.locator("#across tbody tr[data-changed]").count()
            assert rows.count() > changed > 0, "the fixture has cells that change between releases and cells that do not"
            page.check("#only-changed")
            assert page.eval_on_selector_all("#across tbody tr", "rs => rs.filter(r => !r.hidden).length") == changed
            page.uncheck("#only-changed")
            assert page.eval_on_selector_all("#across tbody tr", "rs => rs.filter(r => !r.hidden).length") == rows.count()
        finally:
            browser.close()


def test_the_operators_filter_lives_in_the_address(tmp_path, published_site):
    """operators.html#op=roll opens filtered; typing changes the address; a new address changes the filter."""
    sync_playwright = _browser_or_skip()
    empty = tmp_path / "site"
    build_site(tmp_path / "results", empty, case_dirs=[])
    assert "No operator results yet" in (empty / "operators.html").read_text(), "without results/ops it says so"
    _, site = published_site
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto((site / "operators.html").as_uri() + "#op=roll")
            def visible() -> list[str]:
                return page.eval_on_selector_all("#ops tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.dataset.op)")
            assert visible() and all("roll" in op for op in visible()), visible()
            page.fill("#op-filter", "tril")
            assert page.evaluate("location.hash") == "#op=tril" and all("tril" in op for op in visible())
            page.evaluate("location.hash = 'op=einsum'")
            page.wait_for_function("document.getElementById('op-filter').value === 'einsum'")
            assert visible() and all("einsum" in op for op in visible())
        finally:
            browser.close()
