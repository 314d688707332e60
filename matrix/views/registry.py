"""Registered versus working: each release's exporter registries (``ops registry``) beside the measured cells.

Per op case (op and dtype), release, exporter and runtime, from the cells at each opset and the registry's facts
(the case's ATen ops; per ATen op the TorchScript opsets with a symbolic, and whether torchlib has it):

- ``registered-fails`` "registered but fails": every ATen op has a function at an opset whose cell fails there
  (the status and error of the lowest such opset are kept);
- ``decomposed`` "unregistered but works (decomposed)": an ATen op has none, yet the cell passes (dynamo
  decomposed it into ops torchlib has; the TorchScript passes removed or rewrote it);
- ``unregistered`` "not registered": an ATen op has no function at any measured opset, and the cells fail;
- ``works`` "works since opset N": registered and passing agree, from opset N up.

Precedence is that order: a disagreement between the registry and the truth is the news. The ATen ops are what
``torch.jit.trace`` recorded for the sample (matrix/worker/registry.py), by name, not overload.
"""
from __future__ import annotations

from typing import Any, Iterable

PASS, SKIP = "pass", "skip"
LABELS = {"registered-fails": "registered but fails", "decomposed": "unregistered but works (decomposed)",
          "unregistered": "not registered", "works": "works since opset", "unknown": "registry not read"}


def missing_at(facts: dict[str, Any], case: str, exporter: str, opset: int) -> list[str] | None:
    """The case's ATen ops without a function in ``exporter``'s registry at ``opset``; None where the registry
    pass has nothing for the case (not traced, no file for the release, an exporter it did not read)."""
    ops = ((facts or {}).get("ops") or {}).get(case) or {}
    if "aten" not in ops:
        return None
    if exporter == "torchscript":
        symbolics = facts.get("symbolics") or {}
        return [name for name in ops["aten"] if opset not in (symbolics.get(name) or [])]
    if exporter == "dynamo":
        torchlib = facts.get("torchlib")
        return None if torchlib is None else [name for name in ops["aten"] if name not in set(torchlib)]
    return None


def why_unknown(facts: dict[str, Any] | None, case: str) -> str:
    if not facts:
        return "no registry file for this release (python -m matrix ops registry)"
    ops = (facts.get("ops") or {}).get(case) or {}
    return ops.get("error") or ops.get("skip") or "the registry pass has no facts for this case"


def _span(opsets: Iterable[int]) -> str:
    """``7–8``, ``9``, ``7, 9–11``: opsets as ranges."""
    runs: list[list[int]] = []
    for opset in sorted(set(opsets)):
        if runs and opset == runs[-1][-1] + 1:
            runs[-1].append(opset)
        else:
            runs.append([opset])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _first_line(error: Any) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[0][:200] if lines else "(no error recorded)"


def categorise(points: list[dict[str, Any]], facts: dict[str, Any] | None, case: str,
               exporter: str) -> dict[str, Any] | None:
    """One case, release, exporter and runtime: ``points`` are its cells ({opset, status, error}); returns the
    category, its words and the details behind them, or None where nothing ran (every cell a skip)."""
    ran = sorted((p for p in points if p["status"] != SKIP), key=lambda p: int(p["opset"]))
    if not ran:
        return None
    judged = [(p, missing_at(facts or {}, case, exporter, int(p["opset"]))) for p in ran]
    if any(missing is None for _, missing in judged):
        return {"category": "unknown", "words": f"registry not read: {why_unknown(facts, case)}"}
    passed = {int(p["opset"]): p["status"] == PASS for p in ran}
    fails = [(p, m) for p, m in judged if not m and not passed[int(p["opset"])]]
    decomposed = [(p, m) for p, m in judged if m and passed[int(p["opset"])]]
    opsets = sorted(passed)
    low = next((o for i, o in enumerate(opsets) if all(passed[x] for x in opsets[i:])), None)
    since = f"; works since opset {low}" if low is not None else ""
    if fails:
        first = fails[0][0]
        where = f"opset {_span(int(p['opset']) for p, _ in fails)}" if exporter == "torchscript" else "its opset"
        return {"category": "registered-fails", "works_from": low, "status": first["status"],
                "error": _first_line(first["error"]), "opsets": [int(p["opset"]) for p, _ in fails],
                "words": f"registered but fails at {where} ({first['status']}: {_first_line(first['error'])}){since}"}
    if decomposed:
        names = sorted({n for _, m in decomposed for n in m})
        where = f" at opset {_span(int(p['opset']) for p, _ in decomposed)}" if exporter == "torchscript" else ""
        return {"category": "decomposed", "works_from": low, "missing": names,
                "opsets": [int(p["opset"]) for p, _ in decomposed],
                "words": f"unregistered but works (decomposed){where}: no function for {', '.join(names)}{since}"}
    if all(m for _, m in judged):
        names = sorted({n for _, m in judged for n in m})
        return {"category": "unregistered", "missing": names, "status": ran[0]["status"],
                "words": f"not registered: {', '.join(names)}" + (
                    f" at opset {_span(opsets)}" if exporter == "torchscript" else " in torchlib")}
    if exporter != "torchscript":
        words = "torchlib has every ATen op, and it works" if low is not None else "registered where it works"
    elif len(opsets) == 1:
        words = f"registered at opset {opsets[0]}, and works there"
    else:
        words = f"works since opset {low}" if low is not None else "registered where it works"
    return {"category": "works", "works_from": low, "words": words}


def symbolic_lines(facts: dict[str, Any] | None, cases: list[str]) -> list[dict[str, Any]]:
    """An op page's ATen ops in one release: per ATen op of its samples, the dtypes that call it, the
    TorchScript opsets with a symbolic and the ones without, and whether torchlib has it."""
    if not facts:
        return []
    opsets = list(facts.get("opsets") or [])
    torchlib = facts.get("torchlib")
    seen: dict[str, list[str]] = {}
    for case in cases:
        for name in ((facts.get("ops") or {}).get(case) or {}).get("aten", []):
            seen.setdefault(name, []).append(case.rsplit(".", 1)[-1])
    lines = []
    for name, dtypes in seen.items():
        have = (facts.get("symbolics") or {}).get(name) or []
        lacking = [o for o in opsets if o not in have]
        lines.append({"aten": name, "dtypes": ", ".join(dtypes), "symbolic": _span(have) or "none",
                      "lacking": _span(lacking) or "none",
                      "torchlib": (facts.get("torchlib_registry") or "no dynamo exporter") if torchlib is None else
                      ("yes" if name in torchlib else "no")})
    return lines


SHORT = {"works": "agrees", "registered-fails": "registered, fails", "decomposed": "decomposed",
         "unregistered": "no symbolic", "unknown": "?"}
KIND = {"works": "all", "registered-fails": "none", "decomposed": "some", "unregistered": "none",
        "unknown": "unmeasured"}  # the operators pages' cell colours


def short(category: dict[str, Any]) -> str:
    """A cell's few words: ``agrees ≥9`` (registered and working from opset 9), ``registered, fails``, ..."""
    if category["category"] == "works" and category.get("works_from") is not None:
        return f"agrees ≥{category['works_from']}"
    return SHORT[category["category"]]


def categories(view: Any, registries: dict[str, dict[str, Any]],
               runtime_name: str | None = None) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Every case, release, exporter and runtime of the op view (only ``runtime_name``'s where given), keyed
    so, with its category (``categorise``); grouped in plain Python: hundreds of thousands of cells in
    thousands of tiny groups."""
    keep = view if runtime_name is None else view[view["runtime_name"] == runtime_name]
    columns = ["case", "env_id", "exporter", "runtime_name", "opset", "status", "error"]
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for record in keep[keep["runtime_env"].fillna("") == ""][columns].to_dict("records"):
        if record["opset"] == record["opset"]:  # NaN: a cell without an opset says nothing about one
            groups.setdefault((record["case"], record["env_id"], record["exporter"], record["runtime_name"]),
                              []).append(record)
    found = {}
    for (case, env_id, exporter, runtime), points in groups.items():
        category = categorise(points, registries.get(env_id), case, exporter)
        if category is not None:
            found[(case, env_id, exporter, runtime)] = category
    return found


def release_tag(found: list[tuple[str, dict[str, Any]]]) -> dict[str, str] | None:
    """One op in one release and exporter over its dtypes ((dtype, category) pairs): its short tag where the
    registry and the truth disagree (None where they agree: the usual case says nothing), and the words."""
    if not found:
        return None
    odd = [(dtype, c) for dtype, c in found if c["category"] not in ("works", "unknown")]
    if not odd:
        return None
    shorts = sorted({SHORT[c["category"]] for _, c in odd})
    title = "; ".join(f"{dtype}: {c['words']}" for dtype, c in odd)
    # short: the overview has hundreds of these and stays under 2 MB; the op page has every word
    return {"text": " · ".join(shorts), "title": title if len(title) <= 160 else title[:159] + "…"}


def registry_lines(op_cases: list[tuple[str, str]], exporters: list[str], envs: list[str], runtime: str,
                   found: dict[tuple[str, str, str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """An op page's "registered versus working" table: a line per exporter and dtype, a cell per release."""
    lines = []
    for exporter in exporters:
        for case, dtype in op_cases:
            cells = []
            for env in envs:
                category = found.get((case, env, exporter, runtime))
                cells.append({"kind": "unmeasured", "text": "·", "title": ""} if category is None else
                             {"kind": KIND[category["category"]], "text": short(category),
                              "title": category["words"]})
            if any(c["text"] != "·" for c in cells):
                lines.append({"exporter": exporter, "dtype": dtype, "envs": cells})
    return lines
