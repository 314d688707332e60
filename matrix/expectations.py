"""Verdicts: a row's status against its case's expectations (first matching Expect wins)."""
from __future__ import annotations

from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from matrix.worker.schema import Status, Verdict


def _version_matches(spec: str | None, version: Any) -> bool:
    if spec is None:
        return True
    if version is None:
        return False
    try:
        return Version(str(version)) in SpecifierSet(spec, prereleases=True)
    except (InvalidSpecifier, InvalidVersion):
        return False


def matches(expect: dict[str, Any], row: dict[str, Any]) -> bool:
    """Whether every filter the Expect sets holds for this row."""
    for key in ("exporter", "runtime", "provider", "variant"):
        if expect.get(key) is not None and expect[key] != row.get(key):
            return False
    if not _version_matches(expect.get("torch"), row.get("torch")):
        return False
    if not _version_matches(expect.get("python"), row.get("python")):
        return False
    if not _version_matches(expect.get("opset"), row.get("opset_requested")):
        return False
    if expect.get("replayed") is not None and bool(row.get("runtime_env")) != expect["replayed"]:
        return False
    for key, value in (expect.get("options") or {}).items():
        if row.get(key) != value:
            return False
    return True


def judge(row: dict[str, Any], expects: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict fields for a row: verdict, expected_status, expectation_reason."""
    status = row.get("status")
    if status == Status.SKIP.value:
        return {"verdict": Verdict.AS_EXPECTED.value, "expected_status": Status.SKIP.value,
                "expectation_reason": row.get("error")}
    expect = next((e for e in expects if matches(e, row)), None)
    expected = expect["status"] if expect else Status.PASS.value
    reason = expect.get("reason") if expect else None
    if status == expected:
        needle = expect.get("match") if expect else None
        if needle and needle not in (row.get("error") or ""):
            verdict = Verdict.REGRESSION  # the right status for another reason
        else:
            verdict = Verdict.AS_EXPECTED
    elif status == Status.PASS.value:
        verdict = Verdict.UNEXPECTED_PASS
    else:
        verdict = Verdict.REGRESSION
    return {"verdict": verdict.value, "expected_status": expected, "expectation_reason": reason}
