"""The one HTML renderer of the report and the site: a jinja2 environment with autoescape over a page
family's templates and the shared ones (status colours, legend), and one way to write a page whole.

Pages are rendered from plain dicts (numbers and text, never a frame); every page is written to a
temporary name and renamed, so a reader never sees half a page and a failed build keeps the last good one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import jinja2

from matrix.paths import TEMPLATES_DIR
from matrix.results.store import write_atomic
from matrix.views.labels import STATUS_STYLE, runtime_label, runtime_short
from matrix.views.values import duration, number

SHARED = TEMPLATES_DIR / "shared"


def environment(family: str, **globals: Any) -> jinja2.Environment:
    """Templates of ``family`` ("report", "site") first, then the shared ones; ``globals`` join the defaults."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([TEMPLATES_DIR / family, SHARED]),
                             autoescape=jinja2.select_autoescape(["html"]), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":")}  # data blobs: compact
    env.filters["num"] = lambda value, unit="": number(value, unit) or "–"
    env.filters["ms"] = lambda value: duration(value) or "–"  # a latency given in ms, in the unit it reads best in
    env.globals.update(status_styles={s.value: style for s, style in STATUS_STYLE.items()},
                       runtime_label=runtime_label, runtime_short=runtime_short, **globals)
    return env


def write_page(path: Path, text: str | bytes | Iterable[str]) -> int:
    """Write a page (or any file of a page) whole or not at all; returns its size in bytes. Text that cannot
    be encoded (a lone surrogate from a case's error) is escaped, never an error. Text in pieces (a template's
    generate()) is written as it comes: a page of every cell is never held whole."""
    if isinstance(text, (str, bytes)):
        return write_atomic(path, text.encode("utf-8", "backslashreplace") if isinstance(text, str) else text)
    return write_atomic(path, (piece.encode("utf-8", "backslashreplace") for piece in text))
