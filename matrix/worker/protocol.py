"""Framing between host and worker: one JSON object per line on a pipe of its own.

The worker's stdout is not the channel: exporters print banners and progress there,
and a C library may write anything. Frames go to a dedicated file descriptor, so
the only way a frame is damaged is the worker dying mid-write, which the reader sees
as a torn last line. Stdlib only, Python 3.7 syntax: both sides import this.
"""
from __future__ import annotations

import json
import math
from typing import Any, Dict, IO, Optional


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
    return (json.dumps(_finite(frame), sort_keys=True, default=str) + "\n").encode("utf-8")


def decode(line: bytes) -> Optional[Dict[str, Any]]:
    """A frame, or None for a torn or foreign line."""
    try:
        frame = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return frame if isinstance(frame, dict) and "type" in frame else None


def send(stream: IO[bytes], frame: Dict[str, Any]) -> None:
    stream.write(encode(frame))
    stream.flush()
