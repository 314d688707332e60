"""Version specifiers ("<1.5", ">=2.1,<2.5", "==1.4.*", "~=1.16") without the ``packaging`` package.

The worker checks a case's specifiers when it loads the case, in environments as old as
torch 1.4 where ``packaging`` may be missing, and the host matches them against rows: both
use this one reading. Local labels (``2.13.0+cpu``) are ignored; pre-releases sort before
their release (``2.10.0a0 < 2.10``), and a specifier admits them.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?"
                      r"(?:[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+[A-Za-z0-9.]+)?\s*$",
                      re.IGNORECASE)
_CLAUSE = re.compile(r"^\s*(===|==|!=|<=|>=|<|>|~=)\s*([^\s,]+)\s*$")
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}

VersionKey = Tuple[Tuple[int, ...], Tuple[int, int], Tuple[int, int], Tuple[int, int]]


class SpecifierError(ValueError):
    """A specifier or version that does not parse; the message quotes it."""


def _release(text: str) -> Tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def version_key(text: str) -> VersionKey:
    """A sortable key for a version string; SpecifierError when it is not a version."""
    match = _VERSION.match(str(text))
    if not match:
        raise SpecifierError("%r is not a version" % (text,))
    release, pre, pre_n, post, post_n, dev, dev_n = match.groups()
    # (phase, n): a dev release sorts first, then pre-releases, the release, post-releases
    pre_key = (_PRE_RANK[pre.lower()], int(pre_n or 0)) if pre else (3, 0)
    if dev and not pre and not post:
        pre_key = (-1, 0)
    post_key = (1, int(post_n or 0)) if post else (0, 0)
    dev_key = (0, int(dev_n or 0)) if dev else (1, 0)
    return _release(release), pre_key, post_key, dev_key


class Clause(object):
    def __init__(self, operator: str, version: str) -> None:
        self.operator = operator
        self.wildcard = version.endswith(".*")
        if self.wildcard and operator not in ("==", "!="):
            raise SpecifierError("%s%s: a wildcard needs == or !=" % (operator, version))
        bare = version[:-2] if self.wildcard else version
        if operator == "~=" and "." not in bare:
            raise SpecifierError("~=%s: a compatible release needs at least two parts (~=1.4)" % version)
        self.key = version_key(bare)
        self.prefix = tuple(int(p) for p in re.match(r"\d+(?:\.\d+)*", bare.strip()).group(0).split("."))

    def _starts_with(self, key: VersionKey, prefix: Tuple[int, ...]) -> bool:
        release = key[0] + (0,) * max(0, len(prefix) - len(key[0]))
        return release[:len(prefix)] == prefix

    def admits(self, key: VersionKey) -> bool:
        op = self.operator
        if op in ("==", "===") and self.wildcard:
            return self._starts_with(key, self.prefix)
        if op == "!=" and self.wildcard:
            return not self._starts_with(key, self.prefix)
        if op == "~=":
            return key >= self.key and self._starts_with(key, self.prefix[:-1])
        if op in ("==", "==="):
            return key[0] == self.key[0] and key[1:] == self.key[1:]
        if op == "!=":
            return not (key[0] == self.key[0] and key[1:] == self.key[1:])
        return {"<": key < self.key, "<=": key <= self.key, ">": key > self.key, ">=": key >= self.key}[op]


def parse_specifier(text: str) -> List[Clause]:
    """Comma-separated clauses, all of which must hold; SpecifierError naming the bad part."""
    if not isinstance(text, str) or not text.strip():
        raise SpecifierError("%r is not a version specifier (write e.g. '<1.5' or '>=2.1,<2.5')" % (text,))
    clauses = []
    for part in text.split(","):
        match = _CLAUSE.match(part)
        if not match:
            raise SpecifierError("%r is not a version specifier: %r needs an operator (<, <=, ==, !=, >=, >, ~=) "
                                 "and a version" % (text, part.strip()))
        try:
            clauses.append(Clause(match.group(1), match.group(2)))
        except SpecifierError as exc:
            raise SpecifierError("%r is not a version specifier: %s" % (text, exc))
    return clauses


def admits(specifier: Optional[str], version: Optional[object]) -> bool:
    """Whether ``version`` satisfies ``specifier`` (None admits everything; a missing version nothing)."""
    if specifier is None:
        return True
    if version is None:
        return False
    try:
        key = version_key(str(version))
    except SpecifierError:
        return False
    return all(clause.admits(key) for clause in parse_specifier(specifier))
