"""Find case modules, load them, and describe them as plain data (the catalogue).

A broken case becomes a catalogue entry with ``error`` naming its file and what is
wrong; the other cases still load. A duplicate id across case folders is fatal.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import sys
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from matrix.worker.spec import Case, CaseError

DEFAULT_VARIANT = "default"


class DuplicateCaseError(Exception):
    pass


def case_files(case_dirs: List[str]) -> List[Tuple[str, str]]:
    """(id, path) of every case module; files starting with ``_`` are helpers, not cases."""
    found = []  # type: List[Tuple[str, str]]
    seen = {}  # type: Dict[str, str]
    for folder in case_dirs:
        if not os.path.isdir(folder):
            raise CaseError("case folder %s does not exist" % folder)
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py") or name.startswith("_"):
                continue
            case_id = name[:-3]
            path = os.path.join(folder, name)
            if case_id in seen:
                raise DuplicateCaseError("case id %r is defined twice: %s and %s" % (case_id, seen[case_id], path))
            seen[case_id] = path
            found.append((case_id, path))
    return found


def _support_sources(folder: str) -> str:
    """The helper modules of a case folder: editing them changes every case's hash."""
    parts = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py") and name.startswith("_"):
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                parts.append(handle.read())
    return "\n".join(parts)


class LoadedCase(object):
    def __init__(self, case_id: str, path: str, module: Any, case: Case,
                 builders: Dict[str, Callable[[], Any]], case_hash: str) -> None:
        self.id = case_id
        self.path = path
        self.module = module
        self.case = case
        self.builders = builders
        self.case_hash = case_hash


def load_case(case_id: str, path: str) -> LoadedCase:
    """Import one case module as ``<folder>.<id>`` and validate its contract."""
    folder = os.path.dirname(os.path.abspath(path))
    parent, package = os.path.split(folder)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    digest = hashlib.sha256((source + "\n" + _support_sources(folder)).encode("utf-8")).hexdigest()[:12]
    module = importlib.import_module("%s.%s" % (package, case_id))
    builders = {}  # type: Dict[str, Callable[[], Any]]
    for name, value in sorted(vars(module).items()):
        if name == "build" and callable(value):
            builders[DEFAULT_VARIANT] = value
        elif name.startswith("build_") and callable(value):
            builders[name[len("build_"):]] = value
    if DEFAULT_VARIANT not in builders:
        raise CaseError("defines no build() function returning (module, example_inputs)")
    case = getattr(module, "CASE", None)
    if case is None:
        doc = (module.__doc__ or case_id).strip().splitlines()[0]
        case = Case(title=case_id, pitfall=doc)
    elif not isinstance(case, Case):
        raise CaseError("CASE must be a matrix.worker.spec.Case, got %s" % type(case).__name__)
    return LoadedCase(case_id, path, module, case, builders, digest)


def describe(loaded: LoadedCase) -> Dict[str, Any]:
    """The catalogue entry the host stores and renders: metadata, variants and their source."""
    sources = {}
    for variant, builder in loaded.builders.items():
        try:
            sources[variant] = inspect.getsource(builder)
        except (OSError, TypeError):
            sources[variant] = None
    with open(loaded.path, encoding="utf-8") as handle:
        module_source = handle.read()
    return {
        "id": loaded.id,
        "file": loaded.path,
        "case_hash": loaded.case_hash,
        "doc": (loaded.module.__doc__ or "").strip(),
        "meta": loaded.case.to_dict(),
        "variants": sorted(loaded.builders, key=lambda v: (v != DEFAULT_VARIANT, v)),
        "option_grid": loaded.case.option_grid(),
        "variant_sources": sources,
        "source": module_source,
        "error": None,
    }


def broken(case_id: str, path: str, exc: BaseException) -> Dict[str, Any]:
    """A catalogue entry for a case that failed to load: the error names the file."""
    if isinstance(exc, SyntaxError):
        what = "syntax error at line %s: %s" % (exc.lineno, exc.msg)
    elif isinstance(exc, CaseError):
        what = str(exc)
    else:
        what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return {"id": case_id, "file": path, "error": "%s: %s" % (path, what)}


def load_all(case_dirs: List[str], exclude: Optional[List[str]] = None, on_import: Optional[Callable[[str], None]] = None):
    """Load every case; returns (loaded cases by id, catalogue entries)."""
    loaded = {}  # type: Dict[str, LoadedCase]
    catalogue = []  # type: List[Dict[str, Any]]
    for case_id, path in case_files(case_dirs):
        if exclude and case_id in exclude:
            catalogue.append({"id": case_id, "file": path,
                              "error": "%s: the worker died while importing it" % path})
            continue
        if on_import is not None:
            on_import(case_id)
        try:
            item = load_case(case_id, path)
        except Exception as exc:  # a broken case costs only itself
            catalogue.append(broken(case_id, path, exc))
            continue
        loaded[case_id] = item
        catalogue.append(describe(item))
    return loaded, catalogue
