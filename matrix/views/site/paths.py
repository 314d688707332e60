"""Where each page and file of the site lives, as paths relative to the site's root.

Environment and case ids come from rows, which could carry any text: a name that is not a
plain file name (letters, digits, ``. _ + -``) gets a readable part and a hash, so no id can
write outside the site or collide with another's page.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,100}$")


def slug(name: object) -> str:
    """``name`` as one file name: itself when it is already safe, else a cleaned form and a hash."""
    text = str(name)
    if SAFE.match(text) and ".." not in text:
        return text
    cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip(".-")[:60] or "x"
    return f"{cleaned}-{hashlib.sha256(text.encode('utf-8', 'backslashreplace')).hexdigest()[:8]}"


def anchor(case: object) -> str:
    """The id of a case's first row on an environment page (the overview links there)."""
    return "case-" + slug(case)


def env_page(env_id: str) -> str:
    return f"env/{slug(env_id)}.html"


def case_page(case: str) -> str:
    return f"case/{slug(case)}.html"


def history_page(env_id: str) -> str:
    return f"history/{slug(env_id)}.html"


def diff_page(before: str, after: str) -> str:
    return f"diff/{slug(before)}..{slug(after)}.html"


def files_dir(env_id: str) -> str:
    return f"files/{slug(env_id)}"


def repro_file(env_id: str, digest: str) -> str:
    return f"repro/{slug(env_id)}/{digest}.py"


def href(path: str) -> str:
    """A relative path as a link target: every character a URL would misread is escaped."""
    return quote(path, safe="/.-_+~=,")
