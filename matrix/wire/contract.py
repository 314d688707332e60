"""The case contract: ``CASE = Case(...)`` with its expectations as ``Expect(...)``, and how a row is judged.

Cases import this inside the pinned environment; the host reads the same data back
from the worker's catalogue as plain dicts and judges rows with ``judge``. Every rule
about what an Expect means lives here. Stdlib only, Python 3.7 syntax.
"""
from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from matrix.wire.cell import EXPORT_OPTIONS
from matrix.wire.status import EXPECTABLE, RANK, UNKNOWN_RANK, Status, Verdict
from matrix.wire.versions import SpecifierError, admits, parse_specifier

HOLDS_WHEN = ("naive-fails", "naive-passes", "lower-gpu-share")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class CaseError(ValueError):
    """A case module is malformed; the message says what is wrong (the loader adds the file)."""


class CaseSkip(Exception):
    """Raised by a case's build(): this cell cannot exist here (the release lacks the function); a skip, with
    the message as its reason, never a failure."""


def _check_type(owner: str, name: str, value: Any, types: Tuple[type, ...], optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        want = " or ".join(t.__name__ for t in types)
        raise CaseError("%s.%s must be %s, got %s %r" % (owner, name, want, type(value).__name__, value))


def _unknown(owner: str, names: Iterable[str], known: Sequence[str]) -> None:
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = " (did you mean %r?)" % close[0] if close else ""
            raise CaseError("%s() has no field %r%s; its fields are %s" % (owner, name, hint, ", ".join(known)))


_RUNTIME_KEYS: List[Tuple[str, ...]] = []


def runtime_keys() -> Tuple[str, ...]:
    """The version keys the runtime adapters declare (onnxruntime, onnx, openvino, ...): asked of the adapters'
    registry, which imports no runtime, once."""
    if not _RUNTIME_KEYS:
        from matrix.adapters import version_keys
        _RUNTIME_KEYS.append(version_keys())
    return _RUNTIME_KEYS[0]


def runtime_version(row: Dict[str, Any], key: str) -> Optional[str]:
    """The version a row's runtime environment had for ``key``: ``runtime_versions``, or for rows written
    before it, the older per-key fields (``runtime_onnx``, ``runtime_onnxruntime``)."""
    return (row.get("runtime_versions") or {}).get(key) or row.get("runtime_" + key)


class Expect(object):
    """Where a cell is expected to end with ``status`` (or one of several); the first matching Expect wins.

    Filters are None (any) or: ``torch``/``python`` version specifiers of the exporting
    environment ("<1.6", ">=2.1,<2.5"); the runtimes' version keys (``onnx``, ``onnxruntime``,
    ``openvino``: each declared by the runtime adapter that answers for it) specifiers of the
    runtime's own environment, for facts that belong to the runtime; ``opset`` a specifier on the
    requested opset; ``exporter``/``runtime``/``provider``/``variant`` exact names;
    ``options`` a dict of export option values; ``replayed`` True for rows where another
    environment's runtime ran this environment's file. ``match`` is a substring the error
    must contain for a failure to count as expected: every Expect that names a failure has one.
    Several statuses say the outcome truly depends on the platform; the reason says why.
    """

    NAMES = ("exporter", "runtime", "provider", "variant")

    @staticmethod
    def specifiers() -> Tuple[str, ...]:
        """The version filters: the exporting environment's, the runtimes' declared keys, the opset."""
        return ("torch", "python") + runtime_keys() + ("opset",)

    @classmethod
    def fields(cls) -> Tuple[str, ...]:
        return ("status", "reason", "match") + cls.specifiers() + cls.NAMES + ("options", "replayed")

    def __init__(self, status: Union[str, Sequence[str], None] = None, reason: Optional[str] = None,
                 match: Optional[str] = None, **filters: Any) -> None:
        _unknown("Expect", filters, self.fields())
        if status is None:
            raise CaseError("Expect() needs a status: one of %s" % ", ".join(EXPECTABLE))
        statuses = (status,) if isinstance(status, str) else tuple(status) if isinstance(status, (list, tuple)) else None
        if not statuses or not all(isinstance(s, str) for s in statuses):
            raise CaseError("Expect.status must be a status or a list of them, got %r" % (status,))
        for item in statuses:
            if item not in EXPECTABLE:
                close = difflib.get_close_matches(item, EXPECTABLE, n=1)
                raise CaseError("Expect.status %r is not one of %s%s" % (
                    item, ", ".join(EXPECTABLE), " (did you mean %r?)" % close[0] if close else ""))
        if len(set(statuses)) != len(statuses):
            raise CaseError("Expect.status lists %r twice" % [s for s in statuses if statuses.count(s) > 1][0])
        self.statuses = statuses
        self.reason = reason
        self.match = match
        for name in self.specifiers() + self.NAMES + ("options", "replayed"):
            setattr(self, name, filters.get(name))
        self._validate()

    def _validate(self) -> None:
        failing = [s for s in self.statuses if s != Status.PASS.value]
        _check_type("Expect", "reason", self.reason, (str,))
        _check_type("Expect", "match", self.match, (str,))
        if failing and not (self.reason or "").strip():
            raise CaseError("Expect(%r) needs a reason: every expected failure says why" % self.status)
        if len(self.statuses) > 1 and not (self.reason or "").strip():
            raise CaseError("Expect(%r) needs a reason: say why the outcome depends on the platform" % (self.status,))
        if failing and not (self.match or "").strip():
            raise CaseError("Expect(%r) needs a match: a substring of the error it expects (reason: %s)"
                            % (self.status, self.reason))
        for name in self.specifiers():
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool) and name == "opset":
                value = self.opset = "==%d" % value
            _check_type("Expect", name, value, (str,))
            if value is not None:
                try:
                    parse_specifier(value)
                except SpecifierError as exc:
                    raise CaseError("Expect.%s: %s" % (name, exc))
        for name in self.NAMES:
            _check_type("Expect", name, getattr(self, name), (str,))
        _check_type("Expect", "options", self.options, (dict,))
        _check_type("Expect", "replayed", self.replayed, (bool,))
        for key in self.options or {}:
            if key not in EXPORT_OPTIONS:
                raise CaseError("Expect.options key %r is not one of %s" % (key, ", ".join(EXPORT_OPTIONS)))

    @property
    def status(self) -> Union[str, List[str]]:
        return self.statuses[0] if len(self.statuses) == 1 else list(self.statuses)

    def to_dict(self) -> Dict[str, Any]:
        data = {name: getattr(self, name) for name in self.fields()}
        data["status"] = self.status
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Expect":
        """From a catalogue entry, without the load-time rules: the case was checked when it loaded."""
        expect = cls.__new__(cls)
        status = data.get("status") or Status.PASS.value
        expect.statuses = (status,) if isinstance(status, str) else tuple(status)
        for name in cls.fields()[1:]:
            setattr(expect, name, data.get(name))
        return expect

    def __repr__(self) -> str:
        parts = [repr(self.status)] + ["%s=%r" % (k, getattr(self, k)) for k in self.fields()[1:]
                                       if getattr(self, k, None) is not None]
        return "Expect(%s)" % ", ".join(parts)

    def matches(self, row: Dict[str, Any]) -> bool:
        """Whether every filter this Expect sets holds for the row."""
        for name in self.NAMES:
            if getattr(self, name) is not None and getattr(self, name) != row.get(name):
                return False
        versions = {"torch": row.get("torch"), "python": row.get("python"), "opset": row.get("opset_requested")}
        versions.update((key, runtime_version(row, key)) for key in runtime_keys())
        for name in self.specifiers():
            if not admits(getattr(self, name, None), versions[name]):
                return False
        if self.replayed is not None and bool(row.get("runtime_env")) != self.replayed:
            return False
        for key, value in (self.options or {}).items():
            if row.get(key) != value:
                return False
        return True


def judge(row: Dict[str, Any], expects: Sequence[Union[Expect, Dict[str, Any]]]) -> Dict[str, Any]:
    """The verdict fields for a row: verdict, expected_status, expectation_reason."""
    status = row.get("status")
    if status == Status.SKIP.value:
        return {"verdict": Verdict.AS_EXPECTED.value, "expected_status": Status.SKIP.value,
                "expectation_reason": row.get("error")}
    items = [e if isinstance(e, Expect) else Expect.from_dict(e) for e in expects]
    expect = next((e for e in items if e.matches(row)), None)
    expected = expect.statuses if expect else (Status.PASS.value,)
    fields = {"expected_status": "|".join(expected), "expectation_reason": expect.reason if expect else None}
    if status == Status.FLAKY.value:
        verdict = Verdict.FLAKY
    elif status in expected:
        wrong_reason = (status != Status.PASS.value and expect is not None and expect.match
                        and expect.match not in (row.get("error") or ""))
        verdict = Verdict.REGRESSION if wrong_reason else Verdict.AS_EXPECTED
    elif status == Status.PASS.value:
        verdict = Verdict.UNEXPECTED_PASS
    else:
        verdict = Verdict.REGRESSION
    fields["verdict"] = verdict.value
    return fields


def judge_by_reference(row: Dict[str, Any], published: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The verdict fields of a row of a corpus without expectations (the operators, the models): its cell as
    the published reference has it. A pass that fails now is a regression; a failure that passes now an
    unexpected pass; the same status, or a failure that got no worse, as expected; no reference, nothing
    to judge by: as expected, and the reason says so."""
    status = row.get("status")
    if status == Status.SKIP.value or not published:
        reason = row.get("error") if status == Status.SKIP.value else "no published reference for this cell"
        return {"verdict": Verdict.AS_EXPECTED.value, "expected_status": status, "expectation_reason": reason}
    was = published.get("status")
    fields = {"expected_status": was, "expectation_reason": "as published in run %s" % published.get("run_id")}
    if status == Status.FLAKY.value:
        verdict = Verdict.FLAKY
    elif status == was or was in (Status.SKIP.value, Status.FLAKY.value, None):
        verdict = Verdict.AS_EXPECTED
    elif status == Status.PASS.value:
        verdict = Verdict.UNEXPECTED_PASS
    elif was == Status.PASS.value or RANK.get(str(status), UNKNOWN_RANK) > RANK.get(str(was), UNKNOWN_RANK):
        verdict = Verdict.REGRESSION
    else:  # failing still, at a later stage than before (an export that now loads and diverges)
        verdict = Verdict.AS_EXPECTED
        fields["expectation_reason"] = "was %s as published in run %s, got no worse" % (was, published.get("run_id"))
    fields["verdict"] = verdict.value
    return fields


def _finite_number(owner: str, name: str, value: Any, positive: bool) -> None:
    _check_type(owner, name, value, (int, float))
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise CaseError("%s.%s must be a finite number %s, got %r" % (owner, name, "above 0" if positive else ">= 0",
                                                                       value))


def _axes(owner: str, value: Any) -> Dict[int, str]:
    """{axis: name} of one tensor: axes are ints >= 0, names identifiers (torch.export.Dim takes them as such)."""
    if not isinstance(value, dict) or not value:
        raise CaseError("%s must be a non-empty dict {axis: name} like {0: 'batch', 1: 'seq'}, got %r" % (owner, value))
    for axis, name in value.items():
        if not isinstance(axis, int) or isinstance(axis, bool) or axis < 0:
            raise CaseError("%s: axis %r must be an int >= 0 (a dimension of the tensor)" % (owner, axis))
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\+[1-9][0-9]*)?$", name):
            raise CaseError("%s: axis %d's name %r must be an identifier like 'batch' or 'seq', or one plus a "
                            "number like 'past+1'" % (owner, axis, name))
    return dict(value)


def check_dynamic(dynamic: Any) -> Optional[Dict[Any, Any]]:
    """Case.dynamic: {input: axes} with input a position of forward's arguments (0, 1, ...) or a parameter's
    name ("x"), and axes {axis: name} for a tensor, a list of them (one per element, None for a static one) or
    one {axis: name} for every element of a list argument, or None (a None or static argument)."""
    if dynamic is None:
        return None
    if not isinstance(dynamic, dict) or not dynamic:
        raise CaseError("Case.dynamic must be a non-empty dict {input: {axis: name}}, got %r" % (dynamic,))
    checked: Dict[Any, Any] = {}
    for key, axes in dynamic.items():
        named = isinstance(key, str) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key)
        if not named and not (isinstance(key, int) and not isinstance(key, bool) and key >= 0):
            raise CaseError("Case.dynamic key %r must be forward's argument position (an int >= 0) or its "
                            "parameter name" % (key,))
        owner = "Case.dynamic[%r]" % (key,)
        if axes is None:
            checked[key] = None
        elif isinstance(axes, (list, tuple)):
            checked[key] = [None if item is None else _axes("%s[%d]" % (owner, i), item) for i, item in enumerate(axes)]
        else:
            checked[key] = _axes(owner, axes)
    return checked


def check_dynamic_outputs(dynamic_outputs: Any) -> Optional[Dict[int, Dict[int, str]]]:
    """Case.dynamic_outputs: {output position (of the flattened outputs): {axis: name}}."""
    if dynamic_outputs is None:
        return None
    if not isinstance(dynamic_outputs, dict) or not dynamic_outputs:
        raise CaseError("Case.dynamic_outputs must be a non-empty dict {output: {axis: name}}, got %r"
                        % (dynamic_outputs,))
    checked = {}
    for key, axes in dynamic_outputs.items():
        if not isinstance(key, int) or isinstance(key, bool) or key < 0:
            raise CaseError("Case.dynamic_outputs key %r must be an output's position (an int >= 0)" % (key,))
        checked[key] = _axes("Case.dynamic_outputs[%d]" % key, axes)
    return checked


def check_variant_dynamic(variant_dynamic: Any) -> Optional[Dict[str, Dict[str, Any]]]:
    """Case.variant_dynamic: {variant: {"dynamic": ..., "dynamic_outputs": ...}}, each checked as the case's."""
    if variant_dynamic is None:
        return None
    if not isinstance(variant_dynamic, dict) or not variant_dynamic:
        raise CaseError("Case.variant_dynamic must be a non-empty dict {variant: {'dynamic': ..., "
                        "'dynamic_outputs': ...}}, got %r" % (variant_dynamic,))
    checked = {}
    for variant, declared in variant_dynamic.items():
        where = "Case.variant_dynamic[%r]" % (variant,)
        if not isinstance(variant, str) or not isinstance(declared, dict) or not declared:
            raise CaseError("%s must be a variant's name with a non-empty dict, got %r" % (where, declared))
        unknown = sorted(set(declared) - {"dynamic", "dynamic_outputs"})
        if unknown:
            raise CaseError("%s: unknown key(s) %s (dynamic, dynamic_outputs)" % (where, ", ".join(map(repr, unknown))))
        try:
            checked[variant] = {"dynamic": check_dynamic(declared.get("dynamic")),
                                "dynamic_outputs": check_dynamic_outputs(declared.get("dynamic_outputs"))}
        except CaseError as exc:
            raise CaseError("%s: %s" % (where, exc))
    return checked


class Case(object):
    """A case's metadata. ``options`` sweeps export options: {"dynamic_axes": [False, True]}.

    Dynamic shapes as users declare them: ``dynamic={"x": {0: "batch", 1: "seq"}, 2: [{0: "batch"}, None]}``
    names the dynamic axes of forward's arguments, by name or position (``check_dynamic``), once; with
    ``dynamic_axes`` on (the default where ``dynamic`` is given) they become ``dynamic_axes`` for TorchScript
    (keyed by the flattened input names input_0, input_1, ...) and ``dynamic_shapes`` of ``torch.export.Dim``s
    for the dynamo exporter where torch.onnx.export takes them (2.5 on; 2.1 - 2.4: dynamic_shapes=True).
    Axes of one name are one symbol. ``dynamic_outputs={0: {0: "batch"}}`` does the same for the (flattened)
    outputs, for TorchScript (dynamo derives its outputs' shapes). Rows say whether the exported file kept
    every declared axis symbolic (``dynamic_kept``, ``dynamic_baked``). A variant whose inputs differ (a decoder's
    ``build_kv_cache``) declares its own: ``variant_dynamic={"kv_cache": {"dynamic": ..., "dynamic_outputs": ...}}``.
    An axis named ``"past+1"`` is one more than the axis ``"past"`` (a derived ``torch.export.Dim``: the attention
    mask of a generation step is the cache and the new token). A case module may define
    ``shapes()`` (and ``shapes_<variant>()`` for a variant's own): a list of other input sets (each like build()'s inputs: another batch size, sequence length,
    list length, an empty tensor), which every cell runs after the export shape and compares with eager: a
    file that fails or gives other numbers at one of them is ``batch-fail`` (``extra_shapes`` lists those that
    agreed). The example inputs' dynamic axes should not be 1 (torch.export specialises sizes 0 and 1).

    ``naive``/``fixed`` are filters on rows (like Expect's) picking the cells that show the
    pitfall and its workaround for the seed-claims table; ``holds_when`` says whether the
    claim holds where the naive cells fail ("naive-fails", a pitfall), pass ("naive-passes",
    a capability like S6's list output) or leave more nodes off the GPU ("lower-gpu-share", S5).
    """

    FIELDS = ("title", "pitfall", "seed", "links", "atol", "rtol", "batchable", "options", "timeout", "expect",
              "naive", "fixed", "holds_when", "compare_values", "corpus", "op", "dynamic", "dynamic_outputs",
              "variant_dynamic")
    CORPORA = ("pitfalls", "ops", "models", "check")  # check: a user's model (matrix check), no expectations

    def __init__(self, title: Optional[str] = None, pitfall: Optional[str] = None, seed: Sequence[str] = (),
                 links: Sequence[str] = (), atol: float = 1e-4, rtol: float = 1e-3, batchable: bool = False,
                 options: Optional[Dict[str, List[Any]]] = None, timeout: Optional[float] = None,
                 expect: Sequence[Expect] = (), naive: Optional[Dict[str, Any]] = None,
                 fixed: Optional[Dict[str, Any]] = None, holds_when: str = "naive-fails", compare_values: bool = True,
                 corpus: str = "pitfalls", op: Optional[Dict[str, Any]] = None,
                 dynamic: Optional[Dict[Any, Any]] = None, dynamic_outputs: Optional[Dict[int, Dict[int, str]]] = None,
                 variant_dynamic: Optional[Dict[str, Dict[str, Any]]] = None, **unknown: Any) -> None:
        _unknown("Case", unknown, self.FIELDS)
        _check_type("Case", "title", title, (str,), optional=False)
        _check_type("Case", "pitfall", pitfall, (str,), optional=False)
        self.title, self.pitfall = title, pitfall
        self.seed = [seed] if isinstance(seed, str) else seed
        self.links, self.expect = links, expect
        for name in ("seed", "links", "expect"):
            _check_type("Case", name, getattr(self, name), (list, tuple), optional=False)
        self.seed, self.links, self.expect = list(self.seed), list(self.links), list(self.expect)
        for item in self.seed:
            if not isinstance(item, str) or not re.match(r"^S\d+$", item):
                raise CaseError("Case.seed items must be claim ids like 'S12', got %r" % (item,))
        for link in self.links:
            if not isinstance(link, str) or not _URL.match(link):
                raise CaseError("Case.links items must be http(s) URLs, got %r" % (link,))
        _finite_number("Case", "atol", atol, positive=False)
        _finite_number("Case", "rtol", rtol, positive=False)
        _finite_number("Case", "timeout", timeout, positive=True)
        if atol is None or rtol is None:
            raise CaseError("Case.atol and Case.rtol must be numbers")
        self.atol, self.rtol, self.timeout = float(atol), float(rtol), timeout
        _check_type("Case", "batchable", batchable, (bool,), optional=False)
        self.batchable = batchable
        _check_type("Case", "options", options, (dict,))
        self.options: Dict[str, List[Any]] = {}
        for key, values in (options or {}).items():
            if key not in EXPORT_OPTIONS:
                raise CaseError("Case.options key %r is not one of %s" % (key, ", ".join(EXPORT_OPTIONS)))
            _check_type("Case", "options[%r]" % key, values, (list, tuple), optional=False)
            for value in values:
                if not isinstance(value, bool):
                    raise CaseError("Case.options[%r] values must be True or False, got %r" % (key, value))
            self.options[key] = list(dict.fromkeys(values))  # a value listed twice is one column
        for item in self.expect:
            if not isinstance(item, Expect):
                raise CaseError("Case.expect items must be Expect(...), got %r" % (item,))
        for name, value in (("naive", naive), ("fixed", fixed)):
            _check_type("Case", name, value, (dict,))
        self.naive, self.fixed = naive, fixed
        if holds_when not in HOLDS_WHEN:
            raise CaseError("Case.holds_when must be one of %s, got %r" % (", ".join(HOLDS_WHEN), holds_when))
        self.holds_when = holds_when
        # compare_values=False: a random op, whose outputs are compared by shape and dtype, never by value
        _check_type("Case", "compare_values", compare_values, (bool,), optional=False)
        if corpus not in self.CORPORA:
            raise CaseError("Case.corpus must be one of %s, got %r" % (", ".join(self.CORPORA), corpus))
        _check_type("Case", "op", op, (dict,))
        self.compare_values, self.corpus, self.op = compare_values, corpus, op
        self.dynamic = check_dynamic(dynamic)
        self.dynamic_outputs = check_dynamic_outputs(dynamic_outputs)
        self.variant_dynamic = check_variant_dynamic(variant_dynamic)

    def declared(self, variant: str) -> Tuple[Optional[Dict[Any, Any]], Optional[Dict[int, Dict[int, str]]]]:
        """(dynamic, dynamic_outputs) of one variant: its own declaration, else the case's."""
        own = (self.variant_dynamic or {}).get(variant)
        if own is not None:
            return own.get("dynamic"), own.get("dynamic_outputs")
        return self.dynamic, self.dynamic_outputs

    def option_grid(self) -> List[Dict[str, Any]]:
        """Every combination of the swept options (one empty dict when nothing is swept)."""
        grid: List[Dict[str, Any]] = [{}]
        for key in EXPORT_OPTIONS:
            values = self.options.get(key)
            if values:
                grid = [dict(g, **{key: v}) for g in grid for v in values]
        if (self.batchable or self.dynamic or self.variant_dynamic) and not self.options.get("dynamic_axes"):
            # a batchable case is meant to run at a second batch size: mark dim 0 dynamic; a case that declares its
            # dynamic axes is exported with them (options={"dynamic_axes": [False, True]} sweeps both)
            grid = [dict(g, dynamic_axes=True) for g in grid]
        return grid

    def check_names(self, variants: Sequence[str], exporters: Sequence[str], runtimes: Sequence[str],
                    providers: Sequence[str]) -> None:
        """Names in expectations that match nothing are typos: an Expect that can never apply."""
        known = {"variant": variants, "exporter": exporters, "runtime": runtimes, "provider": providers}
        for variant in sorted(self.variant_dynamic or {}):
            if variant not in variants:
                raise CaseError("Case.variant_dynamic names %r, not a variant of the module (%s): a build_%s() is "
                                "missing" % (variant, ", ".join(variants), variant))
        for index, expect in enumerate(self.expect):
            for name, values in known.items():
                value = getattr(expect, name)
                if value is not None and value not in values:
                    raise CaseError("expect[%d]: %s=%r is not one of %s" % (index, name, value, ", ".join(values)))

    def to_dict(self) -> Dict[str, Any]:
        data = {name: getattr(self, name) for name in self.FIELDS}
        data["expect"] = [e.to_dict() for e in self.expect]
        # JSON keys are text, and a dict of int and str keys cannot be dumped sorted: positions as "0", "1", ...
        data["dynamic"] = _text_keys(self.dynamic)
        data["dynamic_outputs"] = _text_keys(self.dynamic_outputs)
        data["variant_dynamic"] = _text_keys(self.variant_dynamic)
        return data


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _text_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_text_keys(item) for item in value]
    return value


def support_files(folder: str) -> List[str]:
    """The helper modules of a case folder (``_*.py``): editing one changes every case's hash."""
    return sorted(name for name in os.listdir(folder) if name.endswith(".py") and name.startswith("_"))


def helper_sources(folder: str) -> List[Tuple[str, str]]:
    """(name, text) of a case folder's helper modules: read once for a whole folder of cases."""
    found = []
    for name in support_files(folder):
        with open(os.path.join(folder, name), "rb") as handle:
            found.append((name, handle.read().decode("utf-8", "replace")))
    return found


def case_hash(path: str, helpers: Optional[List[Tuple[str, str]]] = None) -> str:
    """The version of a case: its source and its folder's helpers (asv's benchmark version, in spirit).
    ``helpers``: its folder's helper_sources(), when the caller hashes many cases of one folder (listing and
    reading them once per case made discovering a folder of thousands of cases quadratic)."""
    folder = os.path.dirname(os.path.abspath(path))
    with open(path, "rb") as handle:
        parts = [handle.read().decode("utf-8", "replace")]
    parts.extend(text for _, text in (helper_sources(folder) if helpers is None else helpers))
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:12]
