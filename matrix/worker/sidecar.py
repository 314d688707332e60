"""An export's files beside its sidecar: their hashes, held to on every load, and the sidecar read for replay.

The worker's working directory is the exports folder, so a case can reach every other case's files: each
export records the sha256 of what it wrote, and a file that no longer has it is refused, never run. Python 3.7
syntax, stdlib only.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

from matrix.wire.digest import sha256_of  # noqa: F401  (the pipeline records it from here)


class ExportChanged(Exception):
    """An exported file is not the one its export wrote (a case rewrote it): refused, never run or replayed."""


def check_unchanged(path: str, recorded: Optional[str]) -> None:
    """``path`` is as its export wrote it (an older harness's export recorded no hash: nothing to hold it to)."""
    if recorded is not None and sha256_of(path) != recorded:
        raise ExportChanged("%s changed after it was exported (its sha256 is not the %s its export recorded): "
                            "refused, not run" % (path, recorded))


# What replay needs of a sidecar; a failed export's also says why it failed
SIDECAR_FIELDS = ("ok", "atol", "rtol")


def read_sidecar(path: str) -> Tuple[Dict[str, Any], Optional[str]]:
    """An export's sidecar, and why it cannot be replayed (None: it can): a row says so, the worker lives."""
    try:
        with open(path) as handle:
            exported = json.load(handle)
    except (OSError, ValueError) as exc:
        return {}, "the export's sidecar %s cannot be read: %s" % (os.path.basename(path), exc)
    if not isinstance(exported, dict):
        return {}, "the export's sidecar %s is not a JSON object" % os.path.basename(path)
    needed = SIDECAR_FIELDS + (() if exported.get("ok") else ("error_type", "error"))
    missing = [k for k in needed if k not in exported]
    wrong = [k for k in ("atol", "rtol") if k in exported and type(exported[k]) not in (int, float)]
    if missing or wrong:
        return exported, "the export's sidecar %s %s: it cannot be replayed" % (os.path.basename(path), "; ".join(
            (["lacks %s" % ", ".join(missing)] if missing else []) + (["%s not a number" % ", ".join(wrong)] if wrong else [])))
    return exported, None
