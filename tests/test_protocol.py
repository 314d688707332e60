"""Frames survive what JSON cannot say (inf, nan) and a torn line reads as nothing."""
from __future__ import annotations

import math

from matrix.wire.protocol import decode, encode


def test_non_finite_floats_travel_as_strings():
    frame = decode(encode({"type": "row", "row": {"max_abs_err": float("inf"), "x": [float("nan")]}}))
    assert frame["row"]["max_abs_err"] == "inf" and math.isinf(float(frame["row"]["max_abs_err"]))


def test_torn_or_foreign_lines_are_not_frames():
    line = encode({"type": "row", "row": {}})
    assert decode(line[:10]) is None
    assert decode(b"[torch.onnx] Translate the graph into ONNX...") is None
    assert decode(b'{"no": "type"}') is None


def test_a_lone_surrogate_in_an_error_still_travels():
    frame = decode(encode({"type": "row", "row": {"error": "bad \udcff byte"}}))
    assert frame["row"]["error"] == "bad \udcff byte"
