"""onnxruntime's releases on the package index, as the runtime axis and the runtime bisect choose them.

The index answers in PyPI's JSON form (``https://pypi.org/pypi/onnxruntime/json``, or a file of that form:
``--index-file`` / ``$MATRIX_ORT_INDEX``). Pure functions over that answer, so the choice is tested on a fake index.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from matrix.envs.index import IndexUnavailable, final_releases, project_json
from matrix.run.plan import SelectionError

INDEX_ENV = "MATRIX_ORT_INDEX"
NOTES = "https://github.com/microsoft/onnxruntime/releases/tag/v{}"
# a wheel's tags: onnxruntime-1.20.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
_WHEEL = re.compile(r"-(?P<python>(?:cp|py)\d+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$")


class OrtIndexError(SelectionError):
    """Bad input: an unreadable index, a release it does not have, a range with nothing in it."""


def read_index(index_file: Path | None = None) -> dict[str, Any]:
    """The index's answer for onnxruntime (a file where given or ``$MATRIX_ORT_INDEX`` names one, else PyPI through
    the one index client, matrix/envs/index.py)."""
    source = index_file or (Path(os.environ[INDEX_ENV]) if os.environ.get(INDEX_ENV) else None)
    if source is None:
        try:
            return project_json("onnxruntime")
        except IndexUnavailable as exc:
            raise OrtIndexError(str(exc)) from None
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OrtIndexError(f"{source}: cannot read the index ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError:
        raise OrtIndexError(f"{source}: not JSON in PyPI's form") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), dict):
        raise OrtIndexError(f"{source}: no 'releases' table (PyPI's JSON form)")
    return data


def finals(data: dict[str, Any], pre: bool = False) -> list[str]:
    """Every release with files, oldest first: yanked ones left out, pre-releases unless ``pre``."""
    return final_releases(data, "onnxruntime", pre)


def minors(releases: list[str]) -> list[str]:
    """The last patch of each minor release (1.17.3 for 1.17.0, 1.17.1, 1.17.3), oldest first."""
    last: dict[tuple[int, int], Version] = {}
    for text in releases:
        version = Version(text)
        key = (version.major, version.minor)
        last[key] = max(last.get(key, version), version)
    return [str(last[key]) for key in sorted(last)]


def wheel_reason(files: list[dict[str, Any]], python: str, machine: str = "x86_64") -> str:
    """Why no wheel of a release installs on CPython ``python`` (3.11) on Linux ``machine``; "" when one does."""
    tag = "cp" + python.replace(".", "")
    seen = set()
    for item in files:
        if item.get("yanked"):
            continue
        match = _WHEEL.search(str(item.get("filename", "")))
        if not match or not ("linux" in match["platform"] and machine in match["platform"] or match["platform"] == "any"):
            continue
        seen.add(match["python"])
        if match["python"] == tag or (match["abi"] == "abi3" and _cp(match["python"]) <= _cp(tag)):
            return ""
    have = ", ".join(sorted(seen, key=_cp)) or "none"
    return f"no wheel for Python {python} on Linux {machine} (wheels for: {have})"


def _cp(tag: str) -> int:
    digits = tag[2:]
    return int(digits[0]) * 100 + int(digits[1:] or 0)


def pick(releases: list[str], text: str, what: str = "--onnxruntime") -> str:
    """The release ``text`` names: an exact version, or a minor (``1.17``) meaning its last patch."""
    if text in releases:
        return text
    try:
        wanted = Version(text)
    except InvalidVersion:
        raise OrtIndexError(f"{what} {text!r}: not a version") from None
    if len(wanted.release) == 2:
        same = [r for r in releases if Version(r).release[:2] == wanted.release]
        if same:
            return max(same, key=Version)
    raise OrtIndexError(f"{what} {text}: no such onnxruntime release on the index")


def window(releases: list[str], spec: str | None, what: str = "--onnxruntime") -> tuple[str | None, str | None]:
    """``A..B`` (either side may be empty: ``1.20..``) as two releases of the index, the older first."""
    if not spec:
        return None, None
    if spec.count("..") != 1:
        raise OrtIndexError(f"{what} {spec!r}: say A..B (two releases, or A.. / ..B)")
    low, high = (part.strip() for part in spec.split(".."))
    low = pick(releases, low, what) if low else None
    high = pick(releases, high, what) if high else None
    if low and high and Version(low) > Version(high):
        low, high = high, low
    return low, high


def axis(data: dict[str, Any], python: str, spec: str | None = None, pre: bool = False) -> list[tuple[str, str]]:
    """The runtime axis of a Python: (release, why it cannot install there or "") for the last patch of every
    minor in ``spec``'s window; a release with no wheel for the Python is listed with that reason, never dropped."""
    releases = finals(data, pre)
    low, high = window(releases, spec)
    inside = [r for r in minors(releases) if (low is None or Version(r) >= Version(low))
              and (high is None or Version(r) <= Version(high))]
    if high and high not in inside:  # an exact patch asked for is the one run, not its minor's last
        inside = [r for r in inside if Version(r).release[:2] != Version(high).release[:2]] + [high]
    if not inside:
        raise OrtIndexError(f"--onnxruntime {spec}: no onnxruntime release between those on the index")
    return [(r, wheel_reason(data["releases"].get(r) or [], python)) for r in sorted(inside, key=Version)]
