"""Shared by the model cases (a leading underscore: not a case): version gates and input factories."""
from __future__ import annotations

from typing import Any, Tuple

import torch

from matrix.wire.contract import CaseSkip


def release() -> Tuple[int, ...]:
    """This torch's (major, minor): what a case's gate compares."""
    return tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2] if part.isdigit())


def require(owner: Any, name: str, since: str) -> Any:
    """``owner.name``, or a CaseSkip saying this torch lacks it and when it arrived."""
    if not hasattr(owner, name):
        raise CaseSkip("torch %s has no %s.%s (it arrived in torch %s)" % (torch.__version__,
                                                                            getattr(owner, "__name__", owner), name,
                                                                            since))
    return getattr(owner, name)


def causal_mask(length: int) -> torch.Tensor:
    """The float mask nn.Transformer's decoders take: -inf above the diagonal (no look-ahead), 0 elsewhere."""
    return torch.triu(torch.full((length, length), float("-inf")), diagonal=1)


def tokens(vocab: int, *shape: int) -> torch.Tensor:
    return torch.randint(0, vocab, shape, dtype=torch.int64)
