"""What a case module declares: ``CASE = Case(...)`` with its expectations as ``Expect(...)``.

Cases import this inside the pinned environment; the host reads the same data back
from the worker's catalogue as plain dicts. Stdlib only, Python 3.7 syntax.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Tuple

from matrix.worker.schema import EXPORT_OPTIONS, Status


HOLDS_WHEN = ("naive-fails", "naive-passes", "lower-gpu-share")


class CaseError(ValueError):
    """A case module is malformed; the message says what is wrong (the loader adds the file)."""


def _check_type(owner: str, name: str, value: Any, types: Tuple[type, ...], optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, types):
        want = " or ".join(t.__name__ for t in types)
        raise CaseError("%s.%s must be %s, got %s %r" % (owner, name, want, type(value).__name__, value))


@dataclasses.dataclass
class Expect:
    """Where a cell is expected to end with ``status``; the first matching Expect wins.

    Filters are None (any) or: ``torch``/``python`` version specifiers ("<1.6", ">=2.1,<2.5"),
    ``opset`` a specifier on the requested opset, ``exporter``/``runtime``/``provider``/
    ``variant`` exact names, ``options`` a dict of export option values, ``replayed`` True for
    rows where another environment's runtime ran this environment's file (False: only the
    environment's own runtimes). ``match`` is a substring the error must contain for the
    outcome to count as expected.
    """

    status: str
    reason: Optional[str] = None
    torch: Optional[str] = None
    python: Optional[str] = None
    exporter: Optional[str] = None
    opset: Optional[str] = None
    runtime: Optional[str] = None
    provider: Optional[str] = None
    variant: Optional[str] = None
    options: Optional[Dict[str, Any]] = None
    replayed: Optional[bool] = None
    match: Optional[str] = None

    def __post_init__(self) -> None:
        valid = [s.value for s in Status]
        if self.status not in valid:
            raise CaseError("Expect.status %r is not one of %s" % (self.status, ", ".join(valid)))
        if self.status != Status.PASS.value and not self.reason:
            raise CaseError("Expect(%r) needs a reason: every expected failure says why" % self.status)
        for name in ("reason", "torch", "python", "exporter", "opset", "runtime", "provider", "variant", "match"):
            _check_type("Expect", name, getattr(self, name), (str,))
        _check_type("Expect", "options", self.options, (dict,))
        _check_type("Expect", "replayed", self.replayed, (bool,))
        for key in self.options or {}:
            if key not in EXPORT_OPTIONS:
                raise CaseError("Expect.options key %r is not one of %s" % (key, ", ".join(EXPORT_OPTIONS)))

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Case:
    """A case's metadata. ``options`` sweeps export options: {"dynamic_axes": [False, True]}."""

    title: str
    pitfall: str
    seed: Sequence[str] = ()
    links: Sequence[str] = ()
    atol: float = 1e-4
    rtol: float = 1e-3
    batchable: bool = False
    options: Optional[Dict[str, List[Any]]] = None
    timeout: Optional[float] = None
    expect: Sequence[Expect] = ()
    # Which cells show the pitfall (naive) and which the workaround (fixed), as filters on the
    # row like Expect's: {"variant": "default"}, {"keep_initializers_as_inputs": False, "runtime": "caffe2"}.
    naive: Optional[Dict[str, Any]] = None
    fixed: Optional[Dict[str, Any]] = None
    # "naive-fails": the claim holds where the naive cells fail (a pitfall);
    # "naive-passes": it holds where they pass (a capability, like S6's list output);
    # "lower-gpu-share": it holds where the naive export leaves more nodes off the GPU (S5).
    holds_when: str = "naive-fails"

    def __post_init__(self) -> None:
        _check_type("Case", "title", self.title, (str,), optional=False)
        _check_type("Case", "pitfall", self.pitfall, (str,), optional=False)
        if isinstance(self.seed, str):
            self.seed = (self.seed,)
        for name in ("seed", "links", "expect"):
            _check_type("Case", name, getattr(self, name), (list, tuple), optional=False)
        for name in ("atol", "rtol", "timeout"):
            _check_type("Case", name, getattr(self, name), (int, float))
        _check_type("Case", "batchable", self.batchable, (bool,), optional=False)
        _check_type("Case", "options", self.options, (dict,))
        for key, values in (self.options or {}).items():
            if key not in EXPORT_OPTIONS:
                raise CaseError("Case.options key %r is not one of %s" % (key, ", ".join(EXPORT_OPTIONS)))
            _check_type("Case", "options[%r]" % key, values, (list, tuple), optional=False)
        for item in self.expect:
            if not isinstance(item, Expect):
                raise CaseError("Case.expect items must be Expect(...), got %r" % (item,))
        _check_type("Case", "naive", self.naive, (dict,))
        _check_type("Case", "fixed", self.fixed, (dict,))
        if self.holds_when not in HOLDS_WHEN:
            raise CaseError("Case.holds_when must be one of %s, got %r" % (", ".join(HOLDS_WHEN), self.holds_when))

    def option_grid(self) -> List[Dict[str, Any]]:
        """Every combination of the swept options (one empty dict when nothing is swept)."""
        grid = [{}]  # type: List[Dict[str, Any]]
        for key in EXPORT_OPTIONS:
            values = (self.options or {}).get(key)
            if values:
                grid = [dict(g, **{key: v}) for g in grid for v in values]
        if self.batchable and not (self.options or {}).get("dynamic_axes"):
            # a batchable case is meant to run at a second batch size: mark dim 0 dynamic
            grid = [dict(g, dynamic_axes=True) for g in grid]
        return grid

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["seed"] = list(self.seed)
        data["links"] = list(self.links)
        data["expect"] = [e.to_dict() for e in self.expect]
        return data
