"""Pages from templates: jinja2 with autoescape, written whole or not at all.

Every page is rendered from plain dicts (numbers and text, never a frame) and written to a
temporary name, then renamed: a reader never sees half a page and a failed build keeps the
last good one. ``root`` is the way back to the site's root from the page's folder, so every
link is relative and the site opens from file:// as from any static host.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

from matrix.paths import TEMPLATES_DIR
from matrix.views.site import paths
from matrix.views.values import clean, number  # noqa: F401  (the site's modules import them from here)

TEMPLATES = TEMPLATES_DIR / "site"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}  # data blobs: compact
    env.filters["num"] = lambda value, unit="": number(value, unit) or "–"
    env.filters["href"] = paths.href
    env.globals.update(env_page=paths.env_page, case_page=paths.case_page, diff_page=paths.diff_page,
                       history_page=paths.history_page, anchor=paths.anchor)
    return env


def write_atomically(path: Path, data: str | bytes) -> int:
    """Write ``path`` whole or not at all; returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(raw)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(raw)


class Pages:
    """Renders templates into the site folder and remembers what it wrote (for the summary and the tests)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.env = environment()
        self.written: dict[str, int] = {}

    def render(self, relative: str, template: str, **context: Any) -> None:
        depth = relative.count("/")
        html = self.env.get_template(template).render(root="../" * depth, page=relative, **context)
        self.written[relative] = write_atomically(self.out / relative, html)
