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


def test_the_arrays_a_runtime_is_fed_are_copies_of_the_case_inputs():
    import torch

    from matrix.worker.outputs import to_numpy
    tensor = torch.arange(6.0)
    [array] = to_numpy([tensor])
    array[0] = 99.0  # what onnxruntime does to a BatchNormalization's running-stat inputs in training mode
    assert tensor[0].item() == 0.0 and not numpy.shares_memory(array, tensor.numpy())


@pytest.mark.slow
def test_onnxruntime_writing_into_its_inputs_leaves_the_case_inputs_as_built(tmp_path):
    """torch 2.13's TorchScript export of batch_norm(training=True) at opset 9: onnxruntime updates the running
    mean and variance it is fed in place. Before the copies, the op corpus's later cells of the case ran on
    those written numbers (batch_norm's dynamo cell passed or diverged with the cells run before it)."""
    import torch
    ort = pytest.importorskip("onnxruntime")

    from matrix.worker.stages import arrays_of, build

    def sample():
        class BatchNorm(torch.nn.Module):
            def forward(self, x, mean, var):
                return torch.nn.functional.batch_norm(x, mean, var, training=True, momentum=0.5)
        return BatchNorm(), (torch.randn(4, 3, 5) * 3 + 1, torch.zeros(3), torch.ones(3))

    built = build(sample, False, "batch_norm")
    before = [t.clone() for t in built.inputs]
    path = str(tmp_path / "bn.onnx")
    torch.onnx.export(built.module, tuple(t.clone() for t in built.inputs), path, opset_version=9, dynamo=False,
                      input_names=["x", "mean", "var"])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = dict(zip(["x", "mean", "var"], arrays_of(built)["input"]))
    fed = {name: value.copy() for name, value in feed.items()}
    session.run(None, feed)
    assert not all(numpy.array_equal(fed[name], feed[name]) for name in feed), "onnxruntime no longer writes here"
    assert all(torch.equal(a, b) for a, b in zip(before, built.inputs))
