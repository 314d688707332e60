"""The comparison with eager PyTorch (matrix/worker/outputs.py): numbers compared as what they are."""
from __future__ import annotations

import pytest

numpy = pytest.importorskip("numpy")
pytest.importorskip("torch")

from matrix.worker.outputs import Mismatch, compare  # noqa: E402

ATOL, RTOL = 1e-5, 1e-3


def test_nans_at_the_same_place_are_equal_and_counted():
    nan = float("nan")
    result = compare([numpy.array([1.0, nan, nan], numpy.float32)], [numpy.array([1.0, nan, nan], numpy.float32)],
                     ATOL, RTOL)
    assert result["max_abs_err"] == 0.0 and result["nan_count"] == 2
    with pytest.raises(Mismatch):  # a NaN on one side only still diverges
        compare([numpy.array([1.0, 2.0])], [numpy.array([1.0, float("nan")])], ATOL, RTOL)


@pytest.mark.parametrize("got, want", [
    (numpy.array([2 ** 60 + 1], numpy.int64), numpy.array([2 ** 60], numpy.int64)),  # one float64 apart: none
    (numpy.array([1 + 1j], numpy.complex64), numpy.array([1 - 1j], numpy.complex64)),  # the same real part
    (numpy.array([1000], numpy.int64), numpy.array([1001], numpy.int64)),  # within rtol: an index is exact
])
def test_integers_and_complex_numbers_are_compared_as_themselves(got, want):
    with pytest.raises(Mismatch) as raised:
        compare([got], [want], ATOL, RTOL)
    assert raised.value.errors["max_abs_err"] >= 1.0
    assert compare([want.copy()], [want], ATOL, RTOL)["max_abs_err"] == 0.0


def test_real_imaginary_pairs_are_compared_as_the_complex_output_they_are():
    """dynamo writes a complex output as floats with a trailing dimension of 2 (view_as_real)."""
    want = numpy.array([[1 + 2j, -3 + 0.5j]], numpy.complex64)
    pairs = numpy.stack([want.real, want.imag], axis=-1)
    assert compare([pairs], [want], ATOL, RTOL)["max_abs_err"] == 0.0
    with pytest.raises(Mismatch):
        compare([pairs[..., ::-1].copy()], [want], ATOL, RTOL)
