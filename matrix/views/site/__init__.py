"""The published compatibility report: a static site built from a results folder.

    python3 -m matrix.site [--from results] [--out site]

Reads with ``matrix.results.read`` (pandas, never torch), renders with jinja2 (autoescape), draws
plots with matplotlib into inline SVG. The site opens offline from file:// and fetches
nothing; see ``build.py`` here for its pages.

Importing the package is cheap (``matrix.views.site.cli.add_arguments`` can join any parser): the
builder, pandas and matplotlib load on first use of ``build_site``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["PAGE_LIMIT", "SiteBuild", "build_site", "main"]


def __getattr__(name: str) -> Any:
    if name in ("PAGE_LIMIT", "SiteBuild", "build_site"):
        from matrix.views.site import build
        return getattr(build, name)
    if name == "main":
        from matrix.views.site.cli import main
        return main
    raise AttributeError(f"module 'matrix.views.site' has no attribute {name!r}")
