"""Freeze PyTorch's OpInfo database into data: ``python -m matrix.worker.opinfo OUT.jsonl``.

Runs inside the newest environment (it needs ``torch.testing._internal`` and ``expecttest``). Each line is one
OpInfo (name + variant) in one dtype: the public callable that computes it, and one sample input with its
tensors' values, so every release runs the very same samples and a release diff is about torch, never about
new random inputs. What cannot be frozen faithfully (a wrapper no public function reproduces, an argument
that is not data) is left out, counted by reason in the last line.
"""
from __future__ import annotations

import base64
import json
import math
import re
import sys
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple

DTYPES = ("float32", "float16", "int64", "int32", "bool")
MAX_ELEMENTS = 512  # per tensor: the frozen corpus stays a few MB in git, and a sample is a sample, not a load


class Unfreezable(Exception):
    """A sample or an op that cannot be written as data; the message is the reason counted."""


def encode(value: Any, tensors: List[Any]) -> Any:
    """A sample's argument as JSON: tensors become ``{"in": k}`` (graph inputs, values kept in ``tensors``)."""
    import torch
    if isinstance(value, torch.Tensor):
        if value.is_complex() or value.layout != torch.strided or value.dtype == torch.bfloat16:
            raise Unfreezable("a %s %s tensor" % (value.layout, value.dtype))
        if value.numel() > MAX_ELEMENTS:
            raise Unfreezable("a tensor of more than %d elements" % MAX_ELEMENTS)
        tensors.append(value.detach().contiguous())
        return {"in": len(tensors) - 1}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).replace("torch.", "")}
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, torch.Size):
        return list(value)
    if isinstance(value, (list, tuple)):
        items = [encode(item, tensors) for item in value]
        return items if isinstance(value, list) else {"tuple": items}
    raise Unfreezable("an argument of type %s" % type(value).__name__)


def tensor_data(value: Any) -> Dict[str, Any]:
    dtype = str(value.dtype).replace("torch.", "")
    raw = value.numpy().astype(value.numpy().dtype.newbyteorder("<")).tobytes()
    return {"dtype": dtype, "shape": list(value.shape), "data": base64.b64encode(raw).decode("ascii")}


def _resolve(path: str) -> Any:
    import torch
    target: Any = torch
    for part in path.split(".")[1:]:
        target = getattr(target, part)
    return target


def _same(a: Any, b: Any) -> bool:
    import torch
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b) or (
            a.is_floating_point() and torch.allclose(a, b, equal_nan=True, rtol=0, atol=0)))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def _call(path: str, sample: Any, swap: bool = False) -> Any:
    args = [sample.input] + list(sample.args)
    if swap:  # op_db's wrappers of einsum and embedding take the public function's first two arguments swapped
        args[:2] = args[1::-1]
    if path.startswith("torch.Tensor."):
        return getattr(args[0], path.rsplit(".", 1)[1])(*args[1:], **sample.kwargs)
    return _resolve(path)(*args, **sample.kwargs)


def callable_path(op: Any, sample: Any) -> Tuple[str, bool]:
    """The public function (or Tensor method) that computes ``op``, and whether it takes the sample's first two
    arguments swapped: the op's own object where it is public, else the one whose result on the sample is
    bit-identical to op_db's wrapper."""
    candidates = ["torch." + op.name, "torch.Tensor." + op.name]
    for path in candidates:
        try:
            if _resolve(path) is op.op:
                return path, False
        except AttributeError:
            continue
    import torch
    torch.manual_seed(0)  # a random op's wrapper and its public function agree from the same seed
    expected = op.op(sample.input, *sample.args, **sample.kwargs)
    for swap in ((False, True) if sample.args else (False,)):
        for path in candidates:
            try:
                torch.manual_seed(0)
                if _same(_call(path, sample, swap), expected):
                    return path, swap
            except Exception:  # a candidate that does not take the sample is not the op
                continue
    raise Unfreezable("op_db calls a wrapper no public function reproduces")


# Ops that return uninitialised memory (torch.empty and kin): two calls often agree by chance, so calling twice
# cannot tell; their values are whatever the allocator left (new_empty.bool was flaky across runs).
UNINITIALISED = re.compile(r"^(new_)?empty(_|$)")


def _random(op: Any, sample: Any) -> bool:
    """Nondeterministic ops (their two calls differ, or they return uninitialised memory) are compared by shape
    only."""
    if UNINITIALISED.match(op.name):
        return True
    import torch
    torch.manual_seed(0)
    first = op.op(sample.input, *sample.args, **sample.kwargs)
    torch.manual_seed(1)
    return not _same(first, op.op(sample.input, *sample.args, **sample.kwargs))


def freeze_one(op: Any, dtype_name: str) -> Tuple[Optional[Dict[str, Any]], str]:
    """The line for one op in one dtype, or None and the reason."""
    import torch
    dtype = getattr(torch, dtype_name)
    if dtype not in op.supported_dtypes("cpu"):
        return None, ""
    reason = "no sample"
    for sample in op.sample_inputs("cpu", dtype, requires_grad=False):
        tensors: List[Any] = []
        try:
            args = encode([sample.input] + list(sample.args), tensors)
            kwargs = {key: encode(value, tensors) for key, value in sample.kwargs.items()}
            if not tensors or any(t.numel() == 0 for t in tensors):
                raise Unfreezable("a sample without a non-empty tensor")
            path, swap = callable_path(op, sample)
            if swap:
                args[:2] = args[1::-1]
            random = _random(op, sample)
        except Unfreezable as exc:
            reason = str(exc)
            continue
        except Exception as exc:  # op_db's own sample that its op refuses on this build: try the next
            reason = "the sample raises %s" % type(exc).__name__
            continue
        return {"op": op.name, "variant": op.variant_test_name or "", "dtype": dtype_name, "call": path,
                "args": args, "kwargs": kwargs, "tensors": [tensor_data(t) for t in tensors],
                "random": random, "sample": (sample.name or "")[:200]}, ""
    return None, reason


def freeze(out_path: str, names: Optional[List[str]] = None) -> Dict[str, Any]:
    import torch
    from torch.testing._internal.common_methods_invocations import op_db
    lines, left_out = [], Counter()
    for op in op_db:
        if names and op.name not in names:
            continue
        for dtype_name in DTYPES:
            line, reason = freeze_one(op, dtype_name)
            if line is not None:
                lines.append(line)
            elif reason:
                left_out[reason] += 1
    lines.sort(key=lambda line: (line["op"], line["variant"], DTYPES.index(line["dtype"])))
    summary = {"frozen_from": {"torch": torch.__version__.split("+")[0], "python": sys.version.split()[0]},
               "opinfos": len(op_db), "lines": len(lines), "ops": len({(x["op"], x["variant"]) for x in lines}),
               "left_out": dict(left_out.most_common())}
    with open(out_path, "w") as handle:
        for line in lines:
            handle.write(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n")
        handle.write(json.dumps({"summary": summary}, sort_keys=True) + "\n")
    return summary


if __name__ == "__main__":
    print(json.dumps(freeze(sys.argv[1], sys.argv[2:] or None), indent=1))
