"""Where each page and file of the site lives, as paths relative to the site's root.

Environment and case ids come from rows, which could carry any text: a name that is not a
plain file name (letters, digits, ``. _ + -``) gets a readable part and a hash, so no id can
write outside the site or collide with another's page.
"""
from __future__ import annotations

from urllib.parse import quote

from matrix.results.safe import slug  # the one slug of untrusted text, shared with the report and repro

__all__ = ["slug", "anchor", "env_page", "case_page", "history_page", "case_history_page", "op_page", "diff_page", "files_dir", "repro_file", "href"]


def anchor(case: object) -> str:
    """The id of a case's first row on an environment page (the overview links there)."""
    return "case-" + slug(case)


def env_page(env_id: str) -> str:
    return f"env/{slug(env_id)}.html"


def case_page(case: str) -> str:
    return f"case/{slug(case)}.html"


def history_page(env_id: str) -> str:
    return f"history/{slug(env_id)}.html"


def case_history_page(case: str) -> str:
    """A case's cells across releases (and runs): its own folder, so no case id meets an environment's page."""
    return f"history/cases/{slug(case)}.html"


def op_page(op: str) -> str:
    """An operator's page (the index is operators.html: no op name can take its place)."""
    return f"ops/{slug(op)}.html"


def diff_page(before: str, after: str) -> str:
    return f"diff/{slug(before)}..{slug(after)}.html"


def files_dir(env_id: str) -> str:
    return f"files/{slug(env_id)}"


def repro_file(env_id: str, digest: str) -> str:
    """A folder per script, the script always ``repro.py``: the name its docstring and its commands use."""
    return f"repro/{slug(env_id)}/{digest}/repro.py"


def href(path: str) -> str:
    """A relative path as a link target: every character a URL would misread is escaped."""
    return quote(path, safe="/.-_+~=,")
