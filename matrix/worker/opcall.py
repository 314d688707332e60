"""One frozen OpInfo sample as a module: its tensors are the graph's inputs, everything else is a constant.

Generated operator cases (matrix/worker/opcases.py) build with ``OpCall.of(SAMPLE)``; reproductions ship
this file as source beside stages.py, so a pasted reproduction rebuilds the very same sample. Python 3.7
syntax: torch 1.4's environment runs the same frozen samples wherever their functions exist.
"""
from __future__ import annotations

import base64
from typing import Any, Dict, List, Tuple

import numpy
import torch

from matrix.wire.contract import CaseSkip


def tensor_of(data: Dict[str, Any]) -> Any:
    """A frozen tensor: dtype, shape and little-endian bytes (written by matrix/worker/opinfo.py)."""
    kind = numpy.dtype("bool" if data["dtype"] == "bool" else data["dtype"]).newbyteorder("<")
    array = numpy.frombuffer(base64.b64decode(data["data"]), dtype=kind).reshape(data["shape"])
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("=")).copy())


def resolve(path: str) -> Any:
    """``torch.special.xlogy`` -> the function; a release that lacks it is a skip that says so."""
    target = torch
    for part in path.split(".")[1:]:
        try:
            target = getattr(target, part)
        except Exception:  # AttributeError, or torch.ops' own "No such operator aten::..." (a RuntimeError)
            raise CaseSkip("torch %s has no %s" % (torch.__version__.split("+")[0], path))
    return target


def _fill(template: Any, inputs: Tuple[Any, ...]) -> Any:
    """The frozen arguments with the graph's inputs put back where the tensors were."""
    if isinstance(template, list):
        return [_fill(item, inputs) for item in template]
    if isinstance(template, dict):
        if set(template) == {"in"}:
            return inputs[template["in"]]
        if set(template) == {"tuple"}:
            return tuple(_fill(item, inputs) for item in template["tuple"])
        if set(template) == {"dtype"}:
            return getattr(torch, template["dtype"])
        if set(template) == {"float"}:
            return float(template["float"])
        return {key: _fill(value, inputs) for key, value in template.items()}
    return template


class OpCall(torch.nn.Module):
    """``call(*args, **kwargs)`` with the sample's tensors as forward's inputs."""

    def __init__(self, call: str, args: List[Any], kwargs: Dict[str, Any]) -> None:
        super(OpCall, self).__init__()
        self.method = call.rsplit(".", 1)[1] if call.startswith("torch.Tensor.") else None
        if self.method is not None and not hasattr(torch.Tensor, self.method):
            raise CaseSkip("torch %s has no Tensor.%s" % (torch.__version__.split("+")[0], self.method))
        self.function = None if self.method else resolve(call)
        self.args, self.kwargs = args, kwargs

    def forward(self, *inputs: Any) -> Any:
        args, kwargs = _fill(self.args, inputs), _fill(self.kwargs, inputs)
        if self.method is not None:
            return getattr(args[0], self.method)(*args[1:], **kwargs)
        return self.function(*args, **kwargs)

    @classmethod
    def of(cls, sample: Dict[str, Any]) -> Tuple[Any, Tuple[Any, ...]]:
        """(module, example inputs) of a frozen sample, as a case's build() returns them.

        A release whose eager op cannot take the sample (no kernel for the dtype, a keyword added later, a
        shape it did not support yet) has no reference to compare with: a skip saying so, not a failure of the
        export. The release that froze the sample ran it, so the sample itself is sound."""
        module = cls(sample["call"], sample["args"], sample["kwargs"])
        inputs = tuple(tensor_of(data) for data in sample["tensors"])
        try:
            with torch.no_grad():
                module(*inputs)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise CaseSkip("torch %s's eager %s cannot take this sample: %s: %s"
                           % (torch.__version__.split("+")[0], sample["call"], type(exc).__name__, first))
        return module, inputs
