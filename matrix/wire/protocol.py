"""Framing between host and worker: one JSON object per line on a pipe of its own.

The worker's stdout is not the channel: exporters print banners and progress there,
and a C library may write anything. Frames go to a dedicated file descriptor, so
the only way a frame is damaged is the worker dying mid-write, which the reader sees
as a torn last line.

Host to worker (stdin): ``{"type": "cell", "seq": N, "cell": {...}}``, ``{"type": "replay",
"seq": N, "cell": {...}, "export": PATH}``, ``{"type": "registry", "seq": N, "key": K, "cases": [...],
"opsets": [...]}`` (matrix/worker/registry.py; its row frame's row is facts, not a Row), ``{"type": "exit"}``. Worker to host:
``importing``, ``hello``, ``fatal`` while starting; then for request N ``stage`` frames and
one ``row`` frame, each carrying ``seq`` N and the cell key, so the host can tell the
answer to its request from anything else. Stdlib only, Python 3.7 syntax.
"""
from __future__ import annotations

import json
import math
from typing import IO, Any, Dict, Optional


def _finite(value: Any) -> Any:
    """JSON has no inf/nan: send them as strings the host turns back into floats."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(frame: Dict[str, Any]) -> bytes:
    # ensure_ascii: a lone surrogate in an error message still encodes (as \udXXX), never raises
    return (json.dumps(_finite(frame), sort_keys=True, default=str, ensure_ascii=True) + "\n").encode("ascii")


def decode(line: bytes) -> Optional[Dict[str, Any]]:
    """A frame, or None for a torn or foreign line."""
    try:
        frame = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return frame if isinstance(frame, dict) and isinstance(frame.get("type"), str) else None


def send(stream: IO[bytes], frame: Dict[str, Any]) -> None:
    stream.write(encode(frame))
    stream.flush()
