"""A cell's inputs and outputs: flattening, copies, a second batch size, and the comparison with eager PyTorch.

Reproductions inline this module's source, so a reproduction compares exactly as the
worker did: keep it self-contained (numpy and torch only) and Python 3.7-safe.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy
import torch

MAX_ERROR_CHARS = 4000


def describe(exc: BaseException) -> str:
    """The message, then what caused it: exporters wrap the real reason ("Failed to export ... SARIF")."""
    reason = _warned_reason(exc)
    parts = [reason, "caused by %s: %s" % (type(exc).__name__, exc)] if reason else [str(exc) or type(exc).__name__]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen and len(parts) < 4:
        seen.add(id(cause))
        parts.append("caused by %s: %s" % (type(cause).__name__, cause))
        cause = cause.__cause__ or cause.__context__
    return "\n".join(parts)[:MAX_ERROR_CHARS]


def _warned_reason(exc: BaseException) -> Optional[str]:
    """torch <= 1.12 warns "ONNX export failed on ATen operator roll because torch.onnx.symbolic_opset9.roll does
    not exist", then its registry lookup raises a bare KeyError('roll'): the warning (stages.export keeps the
    warnings of a failed export) is the reason."""
    if isinstance(exc, KeyError):
        for message in getattr(exc, "warned", None) or []:
            if message.startswith("ONNX export failed on ATen operator"):
                return message
    return None


class Mismatch(Exception):
    """Outputs differ from eager PyTorch beyond the case's tolerance (``errors``: how far, where known)."""

    def __init__(self, message: str, errors: Optional[Dict[str, Any]] = None) -> None:
        Exception.__init__(self, message)
        self.errors = errors or {}


def flatten(value: Any) -> List[Any]:
    """Tensors of a (nested) output in the order the exporter emits them."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flatten(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flatten(item)]
    return []


def flatten_inputs(value: Any) -> List[Any]:
    """The inputs as an exporter sees them: tensors and Python numbers (TorchScript keeps an ``int`` or
    ``float`` argument of ``forward`` as a 0-d graph input), in order."""
    if isinstance(value, (bool, int, float)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in flatten_inputs(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flatten_inputs(item)]
    return flatten(value)


def to_numpy(tensors: Sequence[Any]) -> List[numpy.ndarray]:
    """Arrays of tensors, and of Python numbers as 0-d arrays (the file they are fed to says their type).

    Copies, never views of the tensors: onnxruntime's CPU session can write into the arrays it is fed (a
    BatchNormalization in training mode updates its running mean and variance inputs in place, measured with
    torch 2.13's TorchScript export of batch_norm), and a view would carry those writes into the case's inputs,
    so every later cell of the case would run on other numbers than the eager reference did."""
    return [numpy.array(t.detach().cpu().numpy(), copy=True) if isinstance(t, torch.Tensor) else numpy.array(t)
            for t in tensors]


def fresh(value: Any) -> Any:
    """Copies of the inputs: cases with in-place ops must not see an earlier run's writes."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (list, tuple)):
        return type(value)(fresh(item) for item in value)
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    return value


def rebatch(value: Any, size: int) -> Any:
    """The inputs at another batch size, by repeating rows along dim 0 (keeps index tensors valid)."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return value
        reps = (size + value.shape[0] - 1) // value.shape[0]
        return value.repeat(*([reps] + [1] * (value.dim() - 1)))[:size].clone()
    if isinstance(value, (list, tuple)):
        return type(value)(rebatch(item, size) for item in value)
    if isinstance(value, dict):
        return {key: rebatch(item, size) for key, item in value.items()}
    return value


def as_complex_pairs(got: numpy.ndarray, want: numpy.ndarray) -> numpy.ndarray:
    """``got`` as complex where the exporter wrote eager's complex output as real/imaginary pairs (dynamo
    gives a float tensor with a trailing dimension of 2): compared as the complex numbers they are."""
    if (numpy.iscomplexobj(want) and got.dtype.kind == "f" and got.ndim == want.ndim + 1
            and tuple(got.shape) == tuple(want.shape) + (2,)):
        return got[..., 0] + 1j * got[..., 1]
    return got


def _integers(a: numpy.ndarray) -> numpy.ndarray:
    return a.astype(object) if a.dtype == numpy.uint64 else a.astype(numpy.int64)  # uint64 does not fit int64


def _integer_errors(g: numpy.ndarray, w: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Integers compared as integers, exactly (float64 holds 53 bits: 2**60+1 and 2**60 are one float64).
    An integer output is an index or a count: the case's rtol, meant for floats, never excuses one."""
    scale = numpy.abs(w.astype(numpy.float64))  # for max_rel_err only
    g, w = _integers(g), _integers(w)
    unequal = g != w
    diff = numpy.zeros(g.shape, numpy.float64)
    if unequal.any():  # Python ints: no overflow however far apart
        diff[unequal] = [float(abs(int(a) - int(b))) for a, b in zip(g[unequal], w[unequal])]
    return diff, scale


def _errors(g: numpy.ndarray, w: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray, int]:
    """(|got - want|, |want|, NaNs at the same place) of one output; complex compared as complex."""
    if g.dtype.kind in "biu" and w.dtype.kind in "biu":
        diff, scale = _integer_errors(g, w)
        return diff, scale, 0
    dtype = numpy.complex128 if numpy.iscomplexobj(g) or numpy.iscomplexobj(w) else numpy.float64
    g, w = g.astype(dtype), w.astype(dtype)
    both_nan = numpy.isnan(g) & numpy.isnan(w)
    same = (g == w) | both_nan  # equal infinities, and NaNs where eager has them (assert_close(equal_nan=True))
    with numpy.errstate(invalid="ignore"):
        diff = numpy.where(same, 0.0, numpy.abs(g - w))
    return diff, numpy.where(same, 0.0, numpy.abs(w)), int(both_nan.sum())


def compare(got: Sequence[Any], want: Sequence[numpy.ndarray], atol: float, rtol: float,
            where: str = "") -> Dict[str, Any]:
    """Errors of ``got`` against eager ``want``; raises Mismatch when they do not agree.

    ``where`` prefixes the message ("at batch size 3: ") when the mismatch is not at the
    export's own batch size. ``nan_count``: NaNs both sides have at the same place (equal).
    """
    if len(got) != len(want):
        raise Mismatch("%s%d outputs, eager PyTorch gives %d" % (where, len(got), len(want)))
    max_abs = max_rel = need_atol = 0.0
    nans = 0
    for index, (g, w) in enumerate(zip(got, want)):
        w = numpy.asarray(w)
        g = as_complex_pairs(numpy.asarray(g), w)
        if tuple(g.shape) != tuple(w.shape):
            raise Mismatch("%soutput %d has shape %s, eager PyTorch gives %s"
                           % (where, index, tuple(g.shape), tuple(w.shape)))
        if g.size == 0:
            continue
        diff, scale, found = _errors(g, w)
        nans += found
        if not numpy.all(numpy.isfinite(diff)):  # a NaN or an infinity on one side only
            max_abs = max_rel = need_atol = float("inf")
            continue
        exact = g.dtype.kind in "biu" and w.dtype.kind in "biu"
        max_abs = max(max_abs, float(diff.max()))
        max_rel = max(max_rel, float((diff / numpy.maximum(scale, 1e-12)).max()))
        need_atol = max(need_atol, float(numpy.maximum(diff - (0.0 if exact else rtol) * scale, 0.0).max()))
    result = {"max_abs_err": max_abs, "max_rel_err": max_rel, "min_passing_atol": need_atol, "nan_count": nans}
    if not need_atol <= atol:  # written so that a NaN never passes
        raise Mismatch("%smax abs error %.3g, max rel error %.3g: beyond atol=%g, rtol=%g (atol %.3g would pass)"
                       % (where, max_abs, max_rel, atol, rtol, need_atol), result)
    return result
