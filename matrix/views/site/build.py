"""Build the static site from a results folder: every page, its plots, files and reproductions.

    site/index.html                 the overview (cases x releases)
    site/env/<env>.html             an environment's detailed matrix, filter and cell details
    site/case/<case>.html           a case: pitfall, source, expectations, where each variant works
    site/plots.html                 latency and passing share across releases
    site/history.html               runs per environment; site/history/<env>.html every cell across runs
    site/history/cases/<case>.html  a case's cells across releases (and each release's runs)
    site/diff/<before>..<after>.html  what changed from one release to another (any two, the earlier first)
    site/files/<env>/               the exported files (.onnx, linked from each cell)
    site/repro/<env>/<hash>/repro.py  a reproduction per failing cell
    site/context.html               the seed's claims, what is not as expected, the default exporter per release
    site/search.html                cases and error text, searched in the page
    site/runtimes.html              exported files x onnxruntime releases (results/runtimes), with neighbour diffs
    site/data/<page>.csv|.json      every table's rows as data (tables.py)
    site/index.json                 the site for scripts; regressions.json and regressions.xml (Atom): the diffs

No page fetches anything: CSS, scripts and plots are inline, links are relative.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

from matrix.envs.lineup import Entry
from matrix.views.html import write_page
from matrix.views.site import feeds, paths, plots, tables
from matrix.views.site.casepage import all_since, all_summaries, case_context
from matrix.views.site.cellhistory import case_histories
from matrix.views.site.contextpage import claim_rows, context_page, default_exporter
from matrix.views.site.diffs import diff_contexts
from matrix.views.site.envpage import env_context
from matrix.views.site.exports import unpack
from matrix.views.site.history import history_contexts, run_cells
from matrix.views.site.load import load
from matrix.views.site.models import write_models
from matrix.views.site.operators import write_operators
from matrix.views.site.overview import _torch, overview_context
from matrix.views.site.render import Pages
from matrix.views.site.repros import Repros
from matrix.views.site.runtimes import write_runtimes
from matrix.views.values import clean

PAGE_LIMIT = 2 * 1024 * 1024  # bytes: every page must open quickly, on any connection


@dataclasses.dataclass
class SiteBuild:
    index: Path
    pages: dict[str, int]        # site-relative path -> bytes
    repros: int
    seconds: float
    problems: list[str]

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.pages.items(), key=lambda item: item[1])

    @property
    def oversized(self) -> list[str]:
        return [page for page, size in self.pages.items() if size > PAGE_LIMIT]


def build_site(source: Path, out: Path, lineup: list[Entry] | None = None,
               case_dirs: list[Path] | None = None) -> SiteBuild:
    """Render the whole site from ``source`` (an out folder: results/ or reports/) into ``out``."""
    started = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    data = load(Path(source), lineup, case_dirs)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pages = Pages(out)
    common = {"generated": now.strftime("%Y-%m-%d %H:%M UTC"), "env_ids": data.env_ids}  # every page's navigation

    names = unpack(data.archives, out, data.problems)
    repros = Repros(out, data.results, data.cases, data.entries)
    downloads = tables.Downloads(out)
    diffs = diff_contexts(data)
    for env_id in data.env_ids:
        context = env_context(data, env_id, names, repros)
        page = paths.env_page(env_id)
        context["downloads"] = downloads.table(page, context.pop("table"), title=f"{env_id}: every cell of the matrix")
        pages.render(page, "env.html", **common, **context,
                     reference=data.references.get(env_id), entry=data.entries.get(env_id),
                     previous=_neighbour(data.lineup_ids, env_id, -1), next=_neighbour(data.lineup_ids, env_id, 1))
    found, since = all_summaries(data), all_since(data)
    for case in data.cases.values():
        context = case_context(data, case, found, since)
        page = paths.case_page(case["id"])
        links = downloads.table(page, tables.case_rows(context, data.env_ids), title=f"{case['id']}: where each variant works")
        pages.render(page, "case.html", **common, **context, downloads=links, repro_links=_case_repros(data, case["id"], repros))
    for (before, after), context in diffs.items():
        page = paths.diff_page(before, after)
        links = downloads.table(page, tables.diff_rows(context), title=f"{before} → {after}: the cells that changed")
        pages.render(page, "diff.html", **common, **context, downloads=links)
    every_run = run_cells(data) if not data.rows.empty else data.rows
    history_index, history = history_contexts(data, every_run)
    for env_id, context in history.items():
        pages.render(paths.history_page(env_id), "history_env.html", **common, **context)
    for case_id, context in case_histories(data, every_run).items():
        pages.render(paths.case_history_page(case_id), "history_case.html", **common, **context)
    pages.render("history.html", "history.html", **common, **history_index,
                 cases=list(data.cases))
    pages.render("plots.html", "plots.html", **common, latency=plots.latency(data), share=plots.pass_share(data))
    counts = {pair: context["counts"] for pair, context in diffs.items()}
    overview = overview_context(data, now, counts, plots.pass_share(data, compact=True))
    for env in overview["envs"]:  # which exporter torch.onnx.export picks in that release, under its header
        env["default_exporter"] = default_exporter(str(env["torch"]))["exporter"]
    links = downloads.table("index.html", tables.overview_rows(overview), name="overview", title="the overview: cases by release")
    pages.render("index.html", "index.html", **common, **overview, downloads=links)
    releases = [e for e in data.entries if not e.endswith("-gpu")]  # a GPU build is not a release of its own
    write_operators(data.source / "ops", releases or data.env_ids, pages, downloads, common)
    write_models(data.source, releases or data.env_ids, pages, downloads, common)
    write_runtimes(data.source, pages, common)
    _extras(data, out, pages, downloads, diffs, common, now)
    _prune(out, set(pages.written) | repros.written | set(downloads.written))
    return SiteBuild(index=out / "index.html", pages=pages.written, repros=len(repros.written),
                     seconds=time.perf_counter() - started, problems=data.problems)


def _extras(data, out: Path, pages: Pages, downloads: tables.Downloads, diffs: dict, common: dict,
            now: dt.datetime) -> None:
    """The context page, the search page and the files for scripts (index.json, the diffs' feeds)."""
    context = context_page(data, {e: _torch(data, e) for e in data.env_ids})
    claims = downloads.table("context.html", claim_rows(context, data.env_ids), name="claims", title="the seed's claims")
    pages.render("context.html", "context.html", **common, **context, downloads={"claims": claims})
    pages.render("search.html", "search.html", **common, entries=feeds.search_index(data))
    releases = {pair: c for pair, c in diffs.items() if c.get("neighbours")}  # a feed follows the releases
    write_page(out / "regressions.json", feeds.regressions(releases, common["generated"]))
    write_page(out / "regressions.xml", feeds.atom(releases, now))
    write_page(out / "index.json", feeds.site_index(data, pages.written, downloads.tables, out, common["generated"]))


def _case_repros(data, case_id: str, repros: Repros) -> list[dict[str, str]]:
    """Reproductions of the case's failing cells in the newest environment that has any (a dozen at most)."""
    view = data.native
    failing = view[(view["case"] == case_id) & ~view["status"].isin(["pass", "skip"])]
    for env_id in reversed(data.env_ids):
        rows = failing[failing["env_id"] == env_id]
        if len(rows):
            found = []
            for record in rows.head(12).to_dict("records"):
                row = {k: clean(v) for k, v in record.items()}
                repro = repros.for_row(row) or {}
                found.append({"env_id": env_id, "cell": str(row["cell"]), "status": str(row["status"]),
                              "path": repro.get("path"), "command": " && ".join(s for s in (repro.get("setup"), repro.get("run")) if s),
                              "problem": repro.get("problem")})
            return found
    return []


# The folders the site owns, and what it writes there: pages and scripts of an earlier build that this
# one did not write (a case removed, an environment renamed) would be dead ends, so they go.
OWNED = {"env": ".html", "case": ".html", "models": ".html", "diff": ".html", "history": ".html", "repro": ".py", "data": ".*"}


def _prune(out: Path, written: set[str]) -> None:
    for folder, suffix in OWNED.items():
        for path in sorted((out / folder).rglob(f"*{suffix}")):
            if path.is_file() and path.relative_to(out).as_posix() not in written:
                path.unlink(missing_ok=True)


def _neighbour(order: list[str], env_id: str, step: int) -> str | None:
    if env_id not in order:
        return None
    at = order.index(env_id) + step
    return order[at] if 0 <= at < len(order) else None
