"""Build the static site from a results folder: every page, its plots, files and reproductions.

    site/index.html                 the overview (cases x releases)
    site/env/<env>.html             an environment's detailed matrix, filter and cell details
    site/case/<case>.html           a case: pitfall, source, expectations, where each variant works
    site/plots.html                 latency and passing share across releases
    site/history.html               runs per environment; site/history/<env>.html every cell across runs
    site/history/cases/<case>.html  a case's cells across releases (and each release's runs)
    site/diff/<before>..<after>.html  what changed from one release to another (any two, the earlier first)
    site/files/<env>/               the exported files (.onnx, linked from each cell)
    site/repro/<env>/<hash>.py      a reproduction per failing cell

No page fetches anything: CSS, scripts and plots are inline, links are relative.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

from matrix.envs.lineup import Entry
from matrix.views.site import paths, plots
from matrix.views.site.casepage import all_since, all_summaries, case_context
from matrix.views.site.cellhistory import case_histories
from matrix.views.site.diffs import diff_contexts
from matrix.views.site.envpage import env_context
from matrix.views.site.exports import unpack
from matrix.views.site.history import history_contexts, run_cells
from matrix.views.site.load import load
from matrix.views.site.overview import overview_context
from matrix.views.site.render import Pages
from matrix.views.site.repros import Repros

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
    diffs = diff_contexts(data)
    for env_id in data.env_ids:
        context = env_context(data, env_id, names, repros)
        pages.render(paths.env_page(env_id), "env.html", **common, **context,
                     reference=data.references.get(env_id), entry=data.entries.get(env_id),
                     previous=_neighbour(data.lineup_ids, env_id, -1), next=_neighbour(data.lineup_ids, env_id, 1))
    found, since = all_summaries(data), all_since(data)
    for case in data.cases.values():
        pages.render(paths.case_page(case["id"]), "case.html", **common, **case_context(data, case, found, since))
    for (before, after), context in diffs.items():
        pages.render(paths.diff_page(before, after), "diff.html", **common, **context)
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
    pages.render("index.html", "index.html", **common,
                 **overview_context(data, now, counts, plots.pass_share(data, compact=True)))
    _prune(out, set(pages.written) | repros.written)
    return SiteBuild(index=out / "index.html", pages=pages.written, repros=len(repros.written),
                     seconds=time.perf_counter() - started, problems=data.problems)


# The folders the site owns, and what it writes there: pages and scripts of an earlier build that this
# one did not write (a case removed, an environment renamed) would be dead ends, so they go.
OWNED = {"env": ".html", "case": ".html", "diff": ".html", "history": ".html", "repro": ".py"}


def _prune(out: Path, written: set[str]) -> None:
    for folder, suffix in OWNED.items():
        for path in sorted((out / folder).rglob(f"*{suffix}")):
            if path.relative_to(out).as_posix() not in written:
                path.unlink(missing_ok=True)


def _neighbour(order: list[str], env_id: str, step: int) -> str | None:
    if env_id not in order:
        return None
    at = order.index(env_id) + step
    return order[at] if 0 <= at < len(order) else None
