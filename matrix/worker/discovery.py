"""Find case modules, load them, and describe them as plain data (the catalogue).

A broken case becomes a catalogue entry with ``error`` naming its file and what is
wrong; the other cases still load. A duplicate id across case folders is fatal.
"""
from __future__ import annotations

import importlib
import inspect
import os
import sys
import traceback
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

from matrix.wire.contract import Case, CaseError, case_hash, helper_sources
from matrix.wire.opcases import op_cases, source_hash

DEFAULT_VARIANT = "default"


class DuplicateCaseError(Exception):
    pass


def case_files(case_dirs: List[str]) -> List[Tuple[str, str]]:
    """(id, path) of every case module; files starting with ``_`` are helpers, not cases."""
    found: List[Tuple[str, str]] = []
    seen: Dict[str, str] = {}
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


def display_name(path: str) -> str:
    """``cases/expand_minus_one.py``: the case's package and file, never the machine's folders."""
    folder, name = os.path.split(os.path.abspath(path))
    return "%s/%s" % (os.path.basename(folder), name)


def importable(case_dirs: List[str]) -> None:
    """Make every case folder importable as a package (its parent on sys.path), before any case loads."""
    for folder in case_dirs:
        parent = os.path.dirname(os.path.abspath(folder))
        if parent not in sys.path:
            sys.path.insert(0, parent)


class LoadedCase(object):
    def __init__(self, case_id: str, path: str, module: Any, case: Case,
                 builders: Dict[str, Callable[[], Any]], case_hash: str,
                 helpers: Optional[List[Tuple[str, str]]] = None, source: Optional[str] = None) -> None:
        self.id = case_id
        self.source = source  # a generated case's own text (no file holds it)
        self.helpers = helpers or []  # its folder's helper modules (name, text): its hash covers them
        self.path = path
        self.module = module
        self.case = case
        self.builders = builders
        self.case_hash = case_hash


def load_case(case_id: str, path: str, names: Dict[str, List[str]],
              helpers: Optional[List[Tuple[str, str]]] = None, source: Optional[str] = None) -> LoadedCase:
    """Import one case module as ``<folder>.<id>`` and validate its contract (``helpers``: its folder's
    helper_sources(), read once for the folder); a generated case (``source``: an operator of the frozen
    corpus) is compiled from its source under the path it is known by, and has no helpers."""
    folder = os.path.dirname(os.path.abspath(path))
    parent, package = os.path.split(folder)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    if source is None:
        helpers = helper_sources(folder) if helpers is None else helpers
        digest = case_hash(path, helpers)
        _same_package(package, folder)
        module = importlib.import_module("%s.%s" % (package, case_id))
    else:
        helpers, digest = [], source_hash(source)
        module = types.ModuleType("%s.%s" % (package, case_id))
        module.__file__ = path
        exec(compile(source, path, "exec"), module.__dict__)
    builders: Dict[str, Callable[[], Any]] = {}
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
        raise CaseError("CASE must be a matrix.wire.Case, got %s" % type(case).__name__)
    case.check_names(sorted(builders), names["exporters"], names["runtimes"], names["providers"])
    return LoadedCase(case_id, path, module, case, builders, digest, helpers, source)


def _same_package(package: str, folder: str) -> None:
    """A case folder imports as the package of its name: refuse one whose name is another package's (a user's
    folder called ``cases`` beside the corpus's, ``json``, ...), which would import that package's modules."""
    try:
        found = importlib.import_module(package)
    except ImportError as exc:
        raise CaseError("its folder %s does not import as package %r (%s)" % (folder, package, exc))
    paths = [os.path.realpath(p) for p in getattr(found, "__path__", [])]
    if os.path.realpath(folder) not in paths:
        where = paths[0] if paths else getattr(found, "__file__", "?")
        raise CaseError("its folder's name %r is already the package at %s, so its cases cannot be imported from "
                        "%s: rename the folder" % (package, where, folder))


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def describe(loaded: LoadedCase) -> Dict[str, Any]:
    """The catalogue entry the host stores and renders: metadata, variants and their source."""
    sources = {}
    for variant, builder in loaded.builders.items():
        try:
            sources[variant] = None if loaded.source is not None else inspect.getsource(builder)
        except (OSError, TypeError):
            sources[variant] = None
    return {
        "id": loaded.id,
        "file": display_name(loaded.path),
        "case_hash": loaded.case_hash,
        "doc": (loaded.module.__doc__ or "").strip(),
        "meta": loaded.case.to_dict(),
        "variants": sorted(loaded.builders, key=lambda v: (v != DEFAULT_VARIANT, v)),
        "option_grid": loaded.case.option_grid(),
        "variant_sources": sources,
        "source": loaded.source if loaded.source is not None else _read(loaded.path),
        # what a reproduction needs besides the case: the folder's helper modules
        "support_sources": dict(loaded.helpers),
        "error": None,
    }


def broken(case_id: str, path: str, exc: BaseException, helpers: Optional[List[Tuple[str, str]]] = None) -> Dict[str, Any]:
    """A catalogue entry for a case that failed to load: the error names the file."""
    if isinstance(exc, SyntaxError):
        what = "syntax error at line %s: %s" % (exc.lineno, exc.msg)
    elif isinstance(exc, CaseError):
        what = str(exc)
    else:
        what = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    try:
        digest = case_hash(path, helpers)  # a broken case is up to date until its file changes, like any other
    except OSError:
        digest = None
    return {"id": case_id, "file": display_name(path), "case_hash": digest,
            "error": "%s: %s" % (display_name(path), what)}


def load_all(case_dirs: List[str], names: Dict[str, List[str]], exclude: Optional[List[str]] = None,
             on_import: Optional[Callable[[str], None]] = None, imported: Optional[Callable[[str], None]] = None):
    """Load every case; returns (loaded cases by id, catalogue entries)."""
    loaded: Dict[str, LoadedCase] = {}
    catalogue: List[Dict[str, Any]] = []
    folders: Dict[str, List[Tuple[str, str]]] = {}  # each folder's helpers, read once for all its cases
    generated: Dict[str, Tuple[str, str]] = {}  # the frozen operator corpus's cases: id -> (path, source)
    for folder in case_dirs:
        for case_id, path, source in op_cases(folder):
            generated[case_id] = (path, source)
    files = case_files(case_dirs)
    for case_id, path in files:
        if case_id in generated:
            raise DuplicateCaseError("case id %r is defined twice: %s and %s" % (case_id, path, generated[case_id][0]))
    for case_id, path in files + [(case_id, path) for case_id, (path, _) in sorted(generated.items())]:
        source = generated[case_id][1] if case_id in generated else None
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in folders:
            folders[folder] = helper_sources(folder) if source is None else []
        helpers = folders[folder]
        if exclude and case_id in exclude:
            digest = case_hash(path, helpers) if source is None else source_hash(source)
            catalogue.append({"id": case_id, "file": display_name(path), "case_hash": digest,
                              "error": "%s: the worker died while importing it" % display_name(path)})
            continue
        if on_import is not None:
            on_import(case_id)
        try:
            item = load_case(case_id, path, names, helpers, source)
        except Exception as exc:  # a broken case costs only itself
            catalogue.append(broken(case_id, path, exc, helpers))
            continue
        finally:
            if imported is not None:
                imported(case_id)
        loaded[case_id] = item
        catalogue.append(describe(item))
    return loaded, catalogue
