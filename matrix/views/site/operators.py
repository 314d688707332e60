"""The operators' pages: ``operators.html`` (every op of the frozen OpInfo corpus × release, caniuse-style, on
TorchScript and onnxruntime's CPU provider) and ``ops/<op>.html`` (every dtype, exporter and runtime of one op,
since which release and opset it works, and what fails where it does not), from ``results/ops``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from matrix.results.registry import read_registries
from matrix.views.labels import error_headline
from matrix.views.optable import DTYPES, cell_words, op_view, since, works_from
from matrix.views.registry import categories, registry_lines, release_tag, symbolic_lines
from matrix.views.site import paths, tables
from matrix.views.site.render import Pages, clean
from matrix.wire.versions import version_key

HEADLINE = ("torchscript", "onnxruntime CPU")  # what the overview's cells say; an op's page says every one


def _order(dtype: Any) -> int:
    return DTYPES.index(dtype) if dtype in DTYPES else len(DTYPES)


def _release_cell(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One op in one release (headline exporter and runtime), over its dtypes: dtypes that agree share words."""
    said: dict[str, list[str]] = {}
    kinds = []
    for entry in sorted(entries, key=lambda e: _order(e["dtype"])):
        kind, words = cell_words(entry)
        kinds.append(kind)
        said.setdefault(words, []).append(str(entry["dtype"]))
    text = " · ".join(words if len(said) == 1 else f"{words} {', '.join(d)}" for words, d in said.items())
    kind = "all" if set(kinds) <= {"all"} else ("none" if set(kinds) <= {"none"} else
                                                 ("skip" if set(kinds) <= {"skip", "unmeasured"} else "some"))
    # the hover says each distinct failure once, its dtypes beside it, in a line: the overview is 600 ops x every
    # release, and the op's page has the whole errors (whole messages here made the page 1.8 MB at five releases)
    failures: dict[str, list[str]] = {}
    for e in entries:
        if not pd.isna(e.get("worst")) and e["worst"] != "pass" and isinstance(e.get("worst_error"), str):
            cause = ORT_PREFIX.sub("", error_headline(e["worst_error"]))
            said_once = f"{e['worst']} at opset {int(e['worst_opset'])}: {_short(cause)}"
            failures.setdefault(said_once, []).append(str(e["dtype"]))
    skips = sorted({_short(str(e["skip_reason"])) for e in entries if isinstance(e.get("skip_reason"), str)})
    title = "; ".join([f"{', '.join(d)}: {words}" for words, d in failures.items()] + skips)
    return {"kind": kind, "text": text or "·", "title": _short(title, TITLE_CHARS)}


TITLE_CHARS = 300
# onnxruntime's boilerplate before the reason ("[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from
# model.onnx failed:"): a hover has room for the reason only
ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : (Load model from \S+ failed:\s*)?")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"



def _by(records: list[dict[str, Any]], *keys: str) -> dict[Any, list[dict[str, Any]]]:
    found: dict[Any, list[dict[str, Any]]] = {}
    for record in records:
        found.setdefault(record[keys[0]] if len(keys) == 1 else tuple(record[k] for k in keys), []).append(record)
    return found


def op_contexts(results: Path, releases: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The index's context and each op page's, keyed by op name. Grouped in plain Python once: hundreds of ops
    times a few dtypes, exporters and runtimes are thousands of tiny groups, which cost pandas far more."""
    view, catalogue = op_view(results)
    if view.empty:
        return {"ops": [], "envs": [], "headline": HEADLINE}, {}
    present = set(view["env_id"])
    envs = [e for e in releases if e in present] + sorted(present - set(releases), key=str)
    table = works_from(view)
    sinces = _by(since(table, envs).to_dict("records"), "op")
    entries = _by(table.to_dict("records"), "op")
    columns = ["op", "env_id", "exporter", "runtime_name", "dtype", "opset", "status", "error", "cell"]
    failing = _by(view.loc[~view["status"].isin(["pass", "skip"]), columns].to_dict("records"), "op")
    cases = _by(view[["op", "case", "dtype"]].drop_duplicates().to_dict("records"), "op")
    registries = read_registries(results)
    found = categories(view, registries, HEADLINE[1])
    registry_envs = [e for e in releases if e in registries] + sorted(set(registries) - set(releases), key=str)
    index, pages = [], {}
    for op in sorted(sinces, key=str):
        rows, mine = sinces[op], entries.get(op, [])
        headline = [e for e in mine if (e["exporter"], e["runtime_name"]) == HEADLINE]
        mine_cases = sorted({(r["case"], r["dtype"]) for r in cases.get(op, [])}, key=lambda c: _order(c[1]))
        cells = [_release_cell([e for e in headline if e["env_id"] == env]) for env in envs]
        for env, cell in zip(envs, cells):  # the registry's word where it disagrees with the measured truth
            cell["registry"] = release_tag([(d, found[(c, env, HEADLINE[0], HEADLINE[1])]) for c, d in mine_cases
                                            if (c, env, HEADLINE[0], HEADLINE[1]) in found])
        words = " · ".join(_since_words(rows, exporter, releases, envs) for exporter in ("torchscript", "dynamo")
                           if exporter in {r["exporter"] for r in rows})
        index.append({"op": op, "href": paths.href(paths.op_page(op)), "since": words, "envs": cells})
        samples = [{"case": c, "source": (catalogue.get(c) or {}).get("source") or ""}
                   for c in sorted({r["case"] for r in cases.get(op, [])})]
        pages[op] = {"op": op, "since": words, "envs": envs, "lines": _lines(mine, rows, envs),
                     "samples": samples, **_errors(failing.get(op, [])),
                     "registry": registry_lines(mine_cases, ["torchscript", "dynamo"], envs, HEADLINE[1], found)
                     if registries else [],
                     "aten": [{"env": env, "lines": symbolic_lines(registries[env], [c for c, _ in mine_cases])}
                              for env in registry_envs]}
    return {"ops": index, "envs": envs, "headline": HEADLINE}, pages


def _unmeasured_before(release: str, releases: list[str], measured: list[str]) -> str:
    """`` (or earlier: torch 1.8.1 to 2.4.1 not measured)`` when the lineup releases just before ``release`` have no
    op rows: the first measured release that works is not the first release that does."""
    if release not in releases:
        return ""
    gap: list[str] = []
    for earlier in reversed(releases[:releases.index(release)]):  # the unmeasured run just before it
        if earlier in measured:
            break
        gap.insert(0, earlier)
    if not gap:
        return ""
    names = [g.replace("torch-", "") for g in gap]
    return f" (or earlier: torch {names[0]}{' to ' + names[-1] if len(names) > 1 else ''} not measured)"


def _since_words(rows: list[dict[str, Any]], exporter: str, releases: list[str] = (), measured: list[str] = ()) -> str:
    mine = [r for r in rows if r["exporter"] == exporter and r["runtime_name"] == HEADLINE[1] and r["ran"]]
    if not mine:  # every release skipped it: none has the function, or none could compute the sample
        return f"{exporter}: not measured"
    working = [r for r in mine if isinstance(r["since"], str)]
    if not working:
        return f"{exporter}: never"
    first = min({r["since"] for r in working}, key=lambda e: version_key(e.replace("torch-", "")))
    low = min(int(r["since_opset"]) for r in working if r["since"] == first)
    share = f" ({len(working)} of {len(mine)} dtypes)" if len(working) != len(mine) else ""
    gap = _unmeasured_before(first, list(releases), list(measured))
    return f"{exporter}: from {first.replace('-', ' ')}{gap}, opset ≥ {low}{share}"


def _lines(mine: list[dict[str, Any]], rows: list[dict[str, Any]], envs: list[str]) -> list[dict[str, Any]]:
    """An op page's table: a line per exporter, runtime and dtype, a cell per release."""
    since_of = {(r["exporter"], r["runtime_name"], r["dtype"]): r for r in rows}
    lines = []
    for (exporter, runtime, dtype), group in sorted(_by(mine, "exporter", "runtime_name", "dtype").items(),
                                                    key=lambda item: (item[0][0], item[0][1], _order(item[0][2]))):
        by_env = {e["env_id"]: e for e in group}
        first = since_of.get((exporter, runtime, dtype))
        since_text = ("never" if first is None or not isinstance(first["since"], str) else
                      f"from {first['since'].replace('-', ' ')}, opset ≥ {int(first['since_opset'])}")
        cells = []
        for env in envs:
            kind, text = cell_words(by_env.get(env))
            entry = by_env.get(env) or {}
            title = entry.get("worst_error") if isinstance(entry.get("worst_error"), str) else entry.get("skip_reason")
            cells.append({"kind": kind, "text": text, "title": clean(title) or ""})
        lines.append({"exporter": exporter, "runtime": runtime, "dtype": dtype, "since": since_text, "envs": cells})
    return lines


def _errors(failing: list[dict[str, Any]], limit: int = 200) -> dict[str, Any]:
    """What fails: a line per release, exporter, runtime, dtype, status and error (at its lowest opset)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for r in sorted(failing, key=lambda r: (str(r["env_id"]), str(r["exporter"]), str(r["dtype"]), r["opset"])):
        key = (r["env_id"], r["exporter"], r["runtime_name"], r["dtype"], r["status"], r["error"])
        seen.setdefault(key, {"env_id": r["env_id"], "exporter": r["exporter"], "runtime": r["runtime_name"],
                              "dtype": r["dtype"], "opset": clean(r["opset"]), "status": r["status"],
                              "error": clean(r["error"]) or "", "cell": r["cell"]})
    errors = list(seen.values())
    return {"errors": errors[:limit], "errors_left_out": max(0, len(errors) - limit)}


def write_operators(results: Path, releases: list[str], pages: Pages, downloads: tables.Downloads,
                    common: dict[str, Any]) -> int:
    """Render the operators' pages (the index says so when ``results`` holds no op rows); returns how many ops
    they show."""
    index, ops = op_contexts(results, releases) if (results / "runs").is_dir() else ({"ops": [], "envs": []}, {})
    index.setdefault("headline", HEADLINE)
    rows = [{"op": o["op"], "since": o["since"], **{e: c["text"] + (f" ({c['registry']['text']})" if c.get("registry")
                                                                 else "") for e, c in zip(index["envs"], o["envs"])}}
            for o in index["ops"]]
    links = downloads.table("operators.html", rows, title="operators: since when each works")
    windows = release_windows(index["envs"], len(index["ops"]))
    for number, window in enumerate(windows):
        shown = {**index, "envs": [index["envs"][i] for i in window],
                 "ops": [{**o, "envs": [o["envs"][i] for i in window]} for o in index["ops"]]}
        pages.render(_window_page(windows, number), "ops.html", **common, **shown, downloads=links,
                     windows=[{"href": _window_page(windows, n), "label": _window_label(index["envs"], w),
                               "current": n == number} for n, w in enumerate(windows)] if len(windows) > 1 else [])
    for op, context in ops.items():
        page = paths.op_page(op)
        links = downloads.table(page, [{k: v for k, v in line.items() if k != "envs"} | {
            e: c["text"] for e, c in zip(context["envs"], line["envs"])} for line in context["lines"]],
            title=f"{op}: every dtype, exporter and runtime")
        pages.render(page, "op.html", **common, **context, downloads=links)
    return len(ops)



# An overview page holds at most this many release columns' worth of cells (about 200 kB a release for 620 ops):
# every page stays under 2 MB however many releases the lineup has; more releases are more pages
PAGE_BYTES = 1_500_000
BYTES_PER_CELL, BYTES_PER_OP = 330, 250


def release_windows(envs: list[str], ops: int) -> list[list[int]]:
    """The release columns of each overview page, newest first: the first page (``operators.html``) is the newest
    releases, each further page the next older ones; a page shows them oldest to newest, as every table does."""
    per_page = max(1, (PAGE_BYTES - BYTES_PER_OP * ops) // max(1, BYTES_PER_CELL * ops))
    newest_first = list(range(len(envs)))[::-1]
    chunks = [newest_first[i:i + per_page] for i in range(0, len(newest_first), per_page)] or [[]]
    return [sorted(chunk) for chunk in chunks]


def _window_page(windows: list[list[int]], number: int) -> str:
    return "operators.html" if number == 0 else f"operators-{number + 1}.html"


def _window_label(envs: list[str], window: list[int]) -> str:
    if not window:
        return "no releases"
    first, last = envs[window[0]].replace("torch-", ""), envs[window[-1]].replace("torch-", "")
    return f"torch {first}" if first == last else f"torch {first} to {last}"
