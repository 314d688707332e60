"""Pages from templates: jinja2 with autoescape, written whole or not at all.

Every page is rendered from plain dicts (numbers and text, never a frame) and written to a
temporary name, then renamed: a reader never sees half a page and a failed build keeps the
last good one. ``root`` is the way back to the site's root from the page's folder, so every
link is relative and the site opens from file:// as from any static host.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from matrix.views import html
from matrix.views.site import paths
from matrix.views.values import clean, number  # noqa: F401  (the site's modules import them from here)


def environment():
    """The report's renderer (matrix/views/html) with the site's links: every href relative to the page."""
    env = html.environment("site", env_page=paths.env_page, case_page=paths.case_page, diff_page=paths.diff_page,
                           history_page=paths.history_page, case_history_page=paths.case_history_page, op_page=paths.op_page,
                           anchor=paths.anchor)
    env.filters["href"] = paths.href
    return env


class Pages:
    """Renders templates into the site folder and remembers what it wrote (for the summary and the tests)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.env = environment()
        self.written: dict[str, int] = {}

    def render(self, relative: str, template: str, **context: Any) -> None:
        depth = relative.count("/")
        text = self.env.get_template(template).render(root="../" * depth, page=relative, **context)
        self.written[relative] = html.write_page(self.out / relative, text)
