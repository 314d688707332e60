"""The package index, as the matrix asks it: a project's releases in PyPI's JSON form, and which of them have a wheel
for a Python on Linux x86_64 (the only platform the lineup builds on).

One client for every command that asks (``bisect`` for torch's releases between two entries, ``watch`` for newer
torch, onnxruntime, onnx and onnxscript releases). The index is a base address: ``https://pypi.org/pypi`` (the
project's JSON at ``<base>/<name>/json``), an ``http://`` server that answers the same way, or a local folder holding
``<name>/json`` files (tests and offline runs). A slow or unreachable index is one ``IndexUnavailable`` naming it.
"""
from __future__ import annotations

import dataclasses
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org/pypi"
INDEX_ENV = "MATRIX_INDEX_URL"  # the base address instead of PyPI's
TIMEOUT_S = 30.0
# manylinux tags a Linux x86_64 machine of today accepts (glibc 2.17 up), and the plain linux tag of a local build
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(40, 4, -1)] + [
    "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]


class IndexUnavailable(ValueError):
    """The index could not be read (unreachable, slow, not PyPI's JSON form): the message names it."""


@dataclasses.dataclass(frozen=True)
class Release:
    """One release of a project: its version and its files as the index lists them (filename, yanked,
    requires_python)."""
    project: str
    version: str
    files: tuple[dict[str, Any], ...]

    @property
    def yanked(self) -> bool:
        return bool(self.files) and all(f.get("yanked") for f in self.files)

    @property
    def pre(self) -> bool:
        return Version(self.version).is_prerelease

    def wheel_for(self, python: str) -> bool:
        """Whether a wheel of this release installs on CPython ``python`` (``3.13``) on Linux x86_64."""
        wanted = supported_tags(python)
        for item in self.files:
            if item.get("yanked") or not str(item.get("filename", "")).endswith(".whl"):
                continue
            if not _python_allowed(item.get("requires_python"), python):
                continue
            try:
                tags = parse_wheel_filename(item["filename"])[3]
            except InvalidWheelFilename:
                continue
            if tags & wanted:
                return True
        return False


def supported_tags(python: str) -> frozenset[Tag]:
    major, minor = (int(part) for part in python.split(".")[:2])
    version = (major, minor)
    return frozenset([*cpython_tags(version, platforms=PLATFORMS),
                      *compatible_tags(version, interpreter=f"cp{major}{minor}", platforms=PLATFORMS)])


def _python_allowed(requires: object, python: str) -> bool:
    if not requires:
        return True
    try:
        return SpecifierSet(str(requires)).contains(f"{python}.0", prereleases=True)
    except InvalidSpecifier:
        return True  # an index's malformed metadata: let the installer judge


def base_address(index: str | None) -> str:
    """The base as given: an address with a scheme as it is, a folder as a file:// address."""
    if not index:
        return PYPI
    if "://" in index:
        return index.rstrip("/")
    return Path(index).resolve().as_uri()


def project_json(name: str, index: str | None = None, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """The project's page in PyPI's JSON form (``{"releases": {version: [file, ...]}}``)."""
    address = f"{base_address(index)}/{name}/json"
    try:
        with urllib.request.urlopen(address, timeout=timeout) as answer:
            data = json.load(answer)
    except (socket.timeout, TimeoutError):
        raise IndexUnavailable(f"{address}: the index did not answer within {timeout:g} s") from None
    except urllib.error.HTTPError as exc:
        raise IndexUnavailable(f"{address}: the index answered HTTP {exc.code} ({exc.reason})") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise IndexUnavailable(f"{address}: the index did not answer within {timeout:g} s") from None
        raise IndexUnavailable(f"{address}: cannot reach the index ({getattr(reason, 'strerror', None) or reason})") from None
    except OSError as exc:
        raise IndexUnavailable(f"{address}: cannot read the index ({exc.strerror or exc})") from None
    except ValueError:
        raise IndexUnavailable(f"{address}: not JSON in PyPI's form") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), dict):
        raise IndexUnavailable(f"{address}: not JSON in PyPI's form (no releases)")
    return data


def releases_of(data: dict[str, Any], project: str) -> list[Release]:
    """Every release of a project page with at least one file, oldest first (yanked and pre-releases included:
    the caller says which it wants)."""
    found = []
    for text, files in (data.get("releases") or {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if isinstance(files, list) and files:
            found.append((version, Release(project, text, tuple(f for f in files if isinstance(f, dict)))))
    return [release for _, release in sorted(found, key=lambda pair: pair[0])]


def final_releases(data: dict[str, Any], project: str, pre: bool) -> list[str]:
    """A project's releases, oldest first: finals only unless ``pre``, yanked ones and releases without files left
    out."""
    return [r.version for r in releases_of(data, project) if not r.yanked and (pre or not r.pre)]


def torch_releases(index_file: Path | None, pre: bool, index: str | None = None) -> list[str]:
    """torch's releases (``bisect``): from a file in PyPI's JSON form where one is given, else from the index."""
    if index_file is None:
        return final_releases(project_json("torch", index), "torch", pre)
    try:
        data = json.loads(index_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IndexUnavailable(f"{index_file}: cannot read the index ({exc.strerror or exc})") from None
    except ValueError:
        raise IndexUnavailable(f"{index_file}: not JSON in PyPI's form") from None
    return final_releases(data if isinstance(data, dict) else {}, "torch", pre)
