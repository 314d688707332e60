"""The operator corpus's failures grouped by error signature, each group with the narrowest filter that covers it.

    python -m matrix triage --corpus ops [--out results/ops] [--env ID] [--unexpected] [--top N] [--json F]

Op cells have no hand-written expectations: tens of thousands fail by design (an op with no symbolic, a kernel
onnxruntime lacks for a dtype), and nobody reads them one by one. Grouped by what the error says
(``labels.error_signature``: the operator, kernel and dtype it names kept, node names, paths and numbers made the
same), they are a few hundred known gaps, each with: its cells, the ops and dtypes it spans, a filter over the
cell's axes (op, dtype, exporter, runtime, opset, torch release) that admits the group's cells and says how many
others it also admits, one example with its reproduction command and a title written from the message.

Rows are read one file at a time and only the fields grouping needs are kept (an op run's rows are mostly code).
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from matrix.results.read import RUN_ORDER, Results
from matrix.results.rows import iter_rows
from matrix.results.store import rows_stem
from matrix.views.labels import NOT_AS_EXPECTED, SKIP, Verdict, error_headline, error_signature, has_providers
from matrix.views.opsets import cells
from matrix.views.optable import DTYPES, op_facts
from matrix.views.optitles import family, title
from matrix.views.triage import _range
from matrix.wire.versions import SpecifierError, version_key

FIELDS = ("env_id", "run_id", "cell", "case", "variant", "exporter", "opset_requested", "opset_actual", "runtime",
          "provider", "runtime_env", "status", "verdict", "error", "torch", "finished_at", "export_sha256")
AXES = ("op", "dtype", "exporter", "runtime", "provider", "replayed", "opset", "torch")


def op_cases(out: Path) -> dict[str, dict[str, Any]]:
    """The op cases of an out folder's catalogues (their op name and dtype), by case id."""
    found = {k: op_facts(c) for k, c in Results(out).catalogue().items()}
    return {k: m for k, m in found.items() if m is not None}


def read_op_cells(out: Path, envs: list[str] | None = None,
                  meta: dict[str, dict[str, Any]] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The current cells of the op cases under ``out`` (of ``envs``, default all), by the opset of their file,
    with ``op`` and ``dtype``; and what could not be read. A failing row keeps its error, a passing one not."""
    reader = Results(out)
    meta = op_cases(out) if meta is None else meta
    problems, records = list(reader.problems), []
    wanted = set(envs or [])
    for order, run in enumerate(reader.runs):
        for path in reader.row_files(run):
            if wanted and _file_env(path.name) not in wanted:
                continue
            issues: list[str] = []  # streamed: a whole op row is mostly the exporter's and runtime's code
            records.extend({**{k: r.get(k) for k in FIELDS}, RUN_ORDER: order} for r in iter_rows(path, issues, fields=FIELDS)
                           if r.get("case") in meta and (not wanted or r.get("env_id") in wanted))
            problems += issues[:5]
    frame = pd.DataFrame.from_records(records, columns=[*FIELDS, RUN_ORDER])
    frame["error"] = frame["error"].where(frame["status"] != "pass")
    frame = frame.sort_values([RUN_ORDER, "finished_at"], na_position="first", kind="stable")
    return with_op_axes(cells(frame.drop_duplicates(["env_id", "cell"], keep="last")), meta), problems


def with_op_axes(view: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """A frame of cells with the axes a filter names: ``op`` and ``dtype`` (from the op cases' catalogue entries,
    else from the case id ``<op>.<dtype>``: a pitfall case is its own op, of no dtype), ``replayed``, and
    ``torch`` as a release (2.6.0+cu124 is 2.6.0)."""
    meta = meta or {}
    split = [meta.get(c) or _from_id(c) for c in view["case"]]
    torch = view["torch"] if "torch" in view else pd.Series("?", index=view.index)
    runtime_env = view["runtime_env"].fillna("") if "runtime_env" in view else pd.Series("", index=view.index)
    return view.assign(op=[m["name"] for m in split], dtype=[m["dtype"] for m in split],
                       replayed=runtime_env != "", runtime_env=runtime_env,
                       torch=torch.fillna("?").astype(str).str.split("+").str[0])


def _from_id(case: Any) -> dict[str, str]:
    name, _, dtype = str(case).rpartition(".")
    return {"name": name, "dtype": dtype} if name and dtype in DTYPES else {"name": str(case), "dtype": "?"}


def _file_env(name: str) -> str:
    """The environment a rows file is of: ``<env>`` of ``<env>[.replay]`` in any rows form (store.ROW_FORMS)."""
    return (rows_stem(name) or name).removesuffix(".replay")


def failing(view: pd.DataFrame, unexpected: bool = False, skips: bool = False) -> pd.DataFrame:
    """The cells to triage: every status that ran and did not pass (a status this harness does not know
    counts: it did not pass), skips with ``skips``; only those not as expected with ``unexpected``."""
    status = view["status"].fillna("?").astype(str)
    chosen = status != "pass"
    if not skips:
        chosen &= status != SKIP
    if unexpected:
        chosen &= view["verdict"].isin(NOT_AS_EXPECTED)
    return view[chosen]


def group_failures(view: pd.DataFrame, unexpected: bool = False, skips: bool = False, by: str = "signature",
                   out: Path | None = None, only: set[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """The groups of failing op cells, largest first: by status and error signature (``by="family"``: by its
    shape, the operator it names left out, so one group spans every op that fails the same way). A divergence's
    message is a measurement, not a cause: those are grouped per op as well. ``only``: just these (env, cell)
    of the failing ones (compare's regressions); the filters are still drawn among every cell of ``view``."""
    rows = failing(view, unexpected, skips)
    if only is not None:
        rows = rows[[key in only for key in zip(rows["env_id"], rows["cell"])]]
    if rows.empty:
        return []
    headline, signature = _memo(error_headline), _memo(lambda h: error_signature(h) or "(no error recorded)")
    shape = _memo(family) if by == "family" else (lambda text: text)
    groups: dict[tuple, list[dict]] = {}
    for record in _records(rows):
        record["headline"] = headline(record["error"])
        record["signature"] = shape(signature(record["headline"]))
        split = record["op"] if record["status"] == "diverge" else ""
        groups.setdefault((record["status"], record["signature"], split), []).append(record)
    scope: dict[str, list[dict]] = {}
    for record in _records(view):
        scope.setdefault(record["op"], []).append(record)
    found = [describe(members, scope, out) for members in groups.values()]
    return sorted(found, key=lambda g: (-g["cells"], g["status"], g["signature"], g["ops"]))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's cells as plain records with the axes' values as filters compare them (a gap is None)."""
    names = [*AXES, "env_id", "cell", "case", "status", "verdict", "error", "runtime_env"]
    # column by column: DataFrame.to_dict boxes every value of a nullable column one call at a time
    columns = [[_key(v) for v in frame[name].astype(object).tolist()] for name in names]
    records = [dict(zip(names, values)) for values in zip(*columns)]
    for record in records:
        record["status"] = "?" if record["status"] is None else str(record["status"])
        record["runtime_env"] = record["runtime_env"] or ""
    return records


def _memo(function):
    cache: dict = {}
    return lambda value: cache[value] if value in cache else cache.setdefault(value, function(value))


def describe(members: list[dict], scope: dict[str, list[dict]], out: Path | None) -> dict[str, Any]:
    """One group: its size, what it spans, its filter (and how many other cells that admits), an example."""
    spans = {axis: sorted({str(m[axis]) for m in members if m[axis] is not None}, key=_sort_key(axis))
             for axis in ("op", "dtype", "exporter", "env_id", "torch")}
    runtimes = sorted({_runtime(m["runtime"], m["provider"], m["runtime_env"]) for m in members})
    opsets = sorted({m["opset"] for m in members if m["opset"] is not None})
    headlines = list(dict.fromkeys(m["headline"] for m in members))
    found = narrowest_filter(members, [peer for op in spans["op"] for peer in scope.get(op, [])])
    example = _example(members)
    per_env: dict[str, int] = {}
    for m in members:
        per_env[str(m["env_id"])] = per_env.get(str(m["env_id"]), 0) + 1
    return {
        "status": members[0]["status"], "signature": members[0]["signature"], "cells": len(members),
        "title": title(headlines, members[0]["status"], spans["dtype"], runtimes, spans["exporter"], opsets,
                       spans["op"]),
        "ops": spans["op"], "dtypes": spans["dtype"], "exporters": spans["exporter"], "runtimes": runtimes,
        "envs": spans["env_id"], "torch": spans["torch"], "opsets": opsets, "per_env": per_env,
        "not_as_expected": sum(1 for m in members if m["verdict"] in NOT_AS_EXPECTED),
        "regressions": sum(1 for m in members if m["verdict"] == Verdict.REGRESSION.value),
        **found, "exact": found["others"] == 0, "example": example, "repro": repro_command(example, out),
    }


def _runtime(runtime: Any, provider: Any, runtime_env: Any) -> str:
    name = str(runtime) + (f"/{provider}" if has_providers(runtime) else "")
    return name + (f"@{runtime_env}" if runtime_env else "")


def _torch_key(text: Any) -> Any:
    try:
        return version_key(str(text))
    except SpecifierError:  # "?" (a row without versions): after every release
        return ((10 ** 9,), (9, 0), (0, 0), (0, 0))


def _sort_key(axis: str):
    return _torch_key if axis == "torch" else (lambda v: (v is None, f"{v:09d}" if isinstance(v, int) else str(v)))


def _example(members: list[dict]) -> dict[str, Any]:
    """The cell to look at first: of the newest release, the lowest opset, the first op by name."""
    row = min(members, key=lambda m: (tuple(-n for n in _torch_key(m["torch"])[0]), m["opset"] or 0, str(m["op"])))
    return {"cell": str(row["cell"]), "env_id": str(row["env_id"]), "case": str(row["case"]), "opset": row["opset"],
            "status": row["status"], "error": str(row["headline"])[:300]}


def repro_command(example: dict[str, Any], out: Path | None) -> str:
    """The command that writes the example's reproduction (``matrix repro``), quoted for a POSIX shell."""
    where = f" --out {shlex.quote(str(out))}" if out is not None else ""
    return f"python -m matrix repro {shlex.quote(example['cell'])} --env {shlex.quote(example['env_id'])}{where}"


def narrowest_filter(members: list[dict], peers: list[dict]) -> dict[str, Any]:
    """The filter over the cell's axes that admits every cell of the group and as few other cells of its ops
    (``peers``) as a product of per-axis choices can: the ops always, any other axis only where it excludes
    something among the peers still admitted (so an opset range is among the exporter's own opsets).
    ``admits`` counts the peers it admits, ``others`` those outside the group, ``others_pass`` those passing."""
    chosen: dict[str, Any] = {}
    admitted = peers
    for axis in AXES:
        values = sorted({m[axis] for m in members}, key=_sort_key(axis))
        every = sorted({p[axis] for p in admitted}, key=_sort_key(axis))
        if axis == "opset":
            spec = _range([v for v in values if v is not None], [v for v in every if v is not None])
        elif axis == "torch":
            spec = _range(values, every, upper_is_next=True)
        elif axis == "provider" and not all(has_providers(m["runtime"]) for m in members):
            spec = None
        else:
            spec = (values[0] if len(values) == 1 else values) if axis == "op" or values != every else None
        if spec is not None:
            chosen[axis] = spec
            wanted = set(values)
            admitted = [p for p in admitted if p[axis] in wanted]
    inside = {(m["env_id"], m["cell"]) for m in members}
    others = [p for p in admitted if (p["env_id"], p["cell"]) not in inside]
    return {"filter": chosen, "filter_text": filter_text(chosen), "admits": len(admitted), "others": len(others),
            "others_pass": sum(1 for p in others if p["status"] == "pass")}


def _key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def filter_text(chosen: dict[str, Any]) -> str:
    """``op=["tril", "triu"], dtype="int32", exporter="torchscript", opset=">=14", torch=">=2.6.0"``."""
    parts = []
    for axis, spec in chosen.items():
        shown = ("[" + ", ".join(f'"{v}"' for v in spec) + "]") if isinstance(spec, list) else (
            str(spec) if isinstance(spec, bool) else f'"{spec}"')
        parts.append(f"{axis}={shown}")
    return ", ".join(parts)


def summary(view: pd.DataFrame, groups: list[dict[str, Any]], top: int = 0) -> dict[str, Any]:
    """How many groups cover how many failing cells: in all (the ``top`` largest), and per environment (how many
    groups it has cells in, and how many of its failing cells its 10 largest cover)."""
    failing_cells = sum(g["cells"] for g in groups)
    top = top or len(groups)
    ran = view[view["status"].fillna("?") != SKIP] if not view.empty else view
    per_env = {}
    envs = ran.groupby("env_id", sort=False) if not ran.empty else []
    for env_id, rows in sorted(envs, key=lambda pair: (_torch_key(pair[1]["torch"].iloc[0]), str(pair[0]))):
        sizes = sorted((g["per_env"][str(env_id)] for g in groups if str(env_id) in g["per_env"]), reverse=True)
        per_env[str(env_id)] = {"cells": len(rows), "failing": sum(sizes), "groups": len(sizes),
                                "top10": sum(sizes[:10])}
    return {"cells": len(ran), "failing": failing_cells, "groups": len(groups), "top": top,
            "top_cells": sum(g["cells"] for g in groups[:top]), "exact": sum(1 for g in groups if g["exact"]),
            "envs": per_env}
