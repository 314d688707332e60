"""Look-ups in the operator corpus's results: since which opset an op works, per release, exporter, runtime
and dtype, and the error where it does not (``python -m matrix ops query``; no environment needed)."""
from __future__ import annotations

import difflib
from pathlib import Path

import pandas as pd

from matrix.results.registry import read_registries
from matrix.views.labels import PASS, SKIP
from matrix.views.optable import DTYPES, op_facts, op_view
from matrix.views.registry import categorise
from matrix.wire.versions import version_key

KEYS = ["torch", "exporter", "runtime"]


def _error(row: pd.Series) -> str:
    """A failure's status and the first line of its error, short enough for one line of a terminal."""
    first = str(row["error"] or "").strip().splitlines()
    return f"{row['status']}: {first[0][:140] if first else '(no error recorded)'}"


def _matches(value: object, prefix: str | None) -> bool:
    text = str(value).split("+")[0]  # 2.6.0+cu124 is torch 2.6.0
    return prefix is None or text == prefix or text.startswith(prefix.rstrip(".") + ".")


def summary(group: pd.DataFrame) -> str:
    """``works from opset 11 (opset 10: export-fail: ...)``, ``fails: ...``, ``not here: torch 1.4.0 has no ...``.

    "Works from opset O" as the operators pages say it (optable.works_from): every opset from O up passes."""
    ran = group[group["status"] != SKIP].sort_values("opset")
    if ran.empty:
        return f"not here: {_error(group.iloc[0]).split(': ', 1)[1]}"
    ok = ran.groupby("opset")["status"].agg(lambda s: bool((s == PASS).all()))
    opsets = list(ok.index)
    low = next((o for i, o in enumerate(opsets) if ok.iloc[i:].all()), None)
    if low is None:
        passing = [int(o) for o in opsets if ok[o]]
        failing = ran[ran["status"] != PASS]
        if not passing:
            return f"fails: {_error(failing.iloc[0])}"
        above = failing[failing["opset"] > passing[-1]].head(1)
        return f"works at opset {', '.join(map(str, passing))} only" + "".join(
            f" (opset {int(r['opset'])}: {_error(r)})" for _, r in above.iterrows())
    below = ran[(ran["opset"] < low) & (ran["status"] != PASS)].tail(1)  # the failure just below it
    text = f"works at opset {int(low)}" if len(opsets) == 1 else f"works from opset {int(low)}"
    return text + "".join(f" (opset {int(r['opset'])}: {_error(r)})" for _, r in below.iterrows())


def registry_words(cells: pd.DataFrame, registries: dict[str, dict]) -> str:
    """``registry: registered but fails at opset 9 (...)`` for one case's cells in one release, exporter and
    runtime, beside what they measured; empty where no registry file covers the release."""
    first = cells.iloc[0]
    facts = registries.get(str(first["env_id"]))
    if not facts:
        return ""
    points = cells[["opset", "status", "error"]].dropna(subset=["opset"]).to_dict("records")
    found = categorise(points, facts, str(first["case"]), str(first["exporter"]))
    return f"registry: {found['words']}" if found else ""


class QueryError(ValueError):
    """A query naming what the results do not have (an op, a runtime, a release): the message names it."""


def _known(flag: str, wanted: str | None, values: pd.Series, matches=lambda v, w: v == w) -> None:
    """Refuse ``wanted`` when no value of the results matches it, listing (or suggesting) the ones there are."""
    present = sorted({str(v) for v in values.dropna()})
    if wanted is None or any(matches(v, wanted) for v in present):
        return
    close = difflib.get_close_matches(str(wanted), present, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else (f"there: {', '.join(present)}" if len(present) <= 12 else
                                                              f"{len(present)} there")
    raise QueryError(f"{flag} {wanted!r}: not in these results ({hint})")


def answer(results: Path, op: str, torch: str | None = None, opset: int | None = None,
           runtime: str | None = None, exporter: str | None = None) -> tuple[str, bool]:
    """The query's answer as text, and whether any row matched; QueryError for a name the results lack."""
    if not (Path(results) / "runs").is_dir():
        raise QueryError(f"--results {results}: no runs/ folder there (the op corpus is published in results/ops)")
    every, catalogue = op_view(results, {op})
    _known("op", op, pd.Series([op_facts(c)["name"] for c in catalogue.values()]))
    _known("--runtime", runtime, every["runtime"])
    _known("--exporter", exporter, every["exporter"])
    _known("--torch", torch, every["torch"], lambda v, w: _matches(v, w))
    view = every[every["op"] == op].copy()
    view = view[view["torch"].map(lambda v: _matches(v, torch)) & view["runtime_env"].eq("")]
    if opset is not None:
        view = view[view["opset"] == opset]
    for column, wanted in (("runtime", runtime), ("exporter", exporter)):
        if wanted:
            view = view[view[column] == wanted]
    if view.empty:
        return f"no results for op {op!r} with these filters in {results}", False
    registries = read_registries(results)
    view["torch"] = view["torch"].map(lambda v: str(v).split("+")[0])
    lines = []
    for key, group in sorted(view.groupby(KEYS, dropna=False), key=lambda item: (version_key(str(item[0][0])),
                                                                                   *map(str, item[0][1:]))):
        said: dict[tuple[str, str], list[str]] = {}  # the dtypes that share an answer share a line
        for dtype, cells in sorted(group.groupby("dtype"), key=lambda item: DTYPES.index(item[0])
                                   if item[0] in DTYPES else len(DTYPES)):
            said.setdefault((summary(cells), registry_words(cells, registries)), []).append(str(dtype))
        for (text, registry), dtypes in said.items():
            lines.append("torch {:<8} {:<11} {:<11} {:<34} {}".format(*map(str, key), ", ".join(dtypes), text))
            if registry:
                lines.append(" " * 71 + registry)
    return "\n".join([f"{op}: {len(view)} cells in {results}", *lines]), True
