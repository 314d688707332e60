"""The models' pages: ``models.html`` (every architecture of the model corpus × release, a table per runtime, a
column per release and exporter, and since when each exports and since when the runtime agrees with eager
PyTorch) and ``models/<case>.html`` (every variant, exporter, runtime and opset of one architecture, each
failure with its error and its reproduction), from the model rows published in ``results/models`` (torch's own
architectures), ``results/hf`` (transformers from tiny configs) and ``results/vision`` (torchvision's models),
whichever exist.

Rows are read field by field and anything a row lacks or says oddly is kept as it is: an unknown status is a
cell of its own colour (``unknown``), a row without a case or an environment is left out and counted.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from matrix.envs.lineup import PACKAGE_FIELDS
from matrix.results.read import Results
from matrix.results.rows import iter_rows
from matrix.views.frames import RUN_ORDER, superseded
from matrix.views.labels import PASS, SKIP, STATUS_ORDER, error_headline, error_signature, rank, runtime_label
from matrix.views.opsets import cells
from matrix.views.since import supported_since
from matrix.views.site import paths, tables
from matrix.views.site.operators import _unmeasured_before
from matrix.views.site.render import Pages, clean

FOLDERS = ("models", "hf", "vision")  # under the results folder: whichever holds model rows
# what a deployer asks of a file besides pass/fail, as the rows have it (the model page's "What it costs")
COSTS = ("stage_s", "export_peak_mb", "onnx_bytes", "node_count", "dynamic_kept", "dynamic_baked", "extra_shapes",
         "latency_ms", "eager_ms", "max_abs_err")
FIELDS = ("env_id", "run_id", "cell", "case", "variant", "exporter", "opset_requested", "opset_actual", "runtime",
          "provider", "runtime_env", "status", "stage", "error", "torch", "finished_at", "export_sha256", "case_hash",
          "runtime_versions", *COSTS)
# a file was written: every status past the export stage (what "exports since" counts)
EXPORTED = ("pass", "diverge", "batch-fail", "load-fail", "run-fail")
PACKAGES = tuple(PACKAGE_FIELDS.values())  # the model corpora's packages each release's header names
NO_SINCE = {"exports": None, "agrees": None}  # nothing ran there: the page says "·" and "never"
FAMILIES = ("encoder", "decoder", "encoder-decoder", "vision", "segmentation", "audio", "multimodal")


def model_facts(case: Any) -> dict[str, str] | None:
    """A model case's facts (architecture, family, source) as text, or None: a catalogue can hold anything."""
    meta = case.get("meta") if isinstance(case, dict) else None
    if not isinstance(meta, dict) or meta.get("corpus") != "models":
        return None
    facts = meta.get("op") if isinstance(meta.get("op"), dict) else {}
    return {"architecture": str(facts.get("architecture") or meta.get("title") or case.get("id")),
            "family": str(facts.get("family") or "model"), "source": str(facts.get("source") or "torch"),
            "model_class": str(facts.get("model_class") or "")}


def model_page(case: str) -> str:
    return f"models/{paths.slug(case)}.html"


def _records(folder: Path, problems: list[str]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    reader = Results(folder)
    catalogue = {k: c for k, c in reader.catalogue().items() if model_facts(c) is not None}
    records = []
    for order, run in enumerate(reader.runs):
        for path in reader.row_files(run):
            if ".replay." in path.name:
                continue
            try:
                for row in iter_rows(path, problems, fields=FIELDS):
                    if row.get("case") in catalogue and row.get("env_id"):
                        records.append({**{k: row.get(k) for k in FIELDS}, RUN_ORDER: order, "folder": folder.name})
                    else:
                        problems.append(f"{path.name}: a row without a model case or an environment")
            except (OSError, ValueError, KeyError, TypeError) as exc:  # a broken file costs itself only
                problems.append(f"{path}: {exc}")
    return records, catalogue


def model_view(source: Path) -> tuple[pd.DataFrame, dict[str, dict[str, Any]], list[str]]:
    """The current cells of every model row under ``source`` (own runtimes only), with the case's facts."""
    records, catalogue, problems = [], {}, []
    for name in FOLDERS:
        if (source / name / "runs").is_dir():
            found, cases = _records(source / name, problems)
            # a case id both folders have (torch's ResNet and transformers' are both "resnet") is two models: the
            # later folder's is shown as "resnet+hf", with a page of its own
            renamed = {case: f"{case}+{name}" for case in set(cases) & set(catalogue)}
            for record in found:
                record["case"] = renamed.get(record["case"], record["case"])
            records += found
            catalogue.update({renamed.get(case, case): entry for case, entry in cases.items()})
    frame = pd.DataFrame.from_records(records, columns=[*FIELDS, RUN_ORDER, "folder"])
    if frame.empty:
        return frame.assign(opset=None, runtime_name=None), catalogue, problems
    frame["status"] = [s if isinstance(s, str) and s else "unknown" for s in frame["status"]]
    frame["variant"] = frame["variant"].fillna("default")
    frame = frame.sort_values([RUN_ORDER, "finished_at"], na_position="first", kind="stable")
    frame["runtime_env"] = frame["runtime_env"].fillna("")
    # a case rerun in a new version (its dynamic axes declared) leaves its old cells: they are not the case now
    frame = frame[~superseded(frame, by=("folder", "env_id"))]
    # by case: the two folders may share a cell id (both have a "resnet")
    view = cells(frame.drop_duplicates(["env_id", "case", "cell"], keep="last"), by=("case",))
    view["runtime_name"] = [runtime_label(r, p) for r, p in zip(view["runtime"], view["provider"])]
    return view[view["runtime_env"] == ""], catalogue, problems


def _kind(status: str) -> str:
    """The status's colour class: one labels.STATUS_STYLE knows, else ``unknown`` (never a row's raw text)."""
    return status if status in STATUS_ORDER else "unknown"


def _cell(group: list[dict[str, Any]], case: str, variant: str) -> dict[str, Any]:
    """One architecture and variant in one release, exporter and runtime, over its opsets."""
    ran = [g for g in group if g["status"] != SKIP]
    if not ran:
        reason = next((g["error"] for g in group if isinstance(g.get("error"), str)), "") if group else ""
        return {"kind": SKIP if group else "none", "text": "–" if group else "·", "title": clean(reason) or
                ("skipped" if group else "not measured"), "href": None, "anchor": None}
    passing = sorted(int(g["opset"]) for g in ran if g["status"] == PASS and pd.notna(g["opset"]))
    worst = max(ran, key=lambda g: (rank(str(g["status"])), -(g["opset"] if pd.notna(g["opset"]) else 0)))
    failing = [g for g in ran if g["status"] != PASS]
    title = "; ".join(f"{g['status']} at opset {clean(g['opset'])}: {error_headline(g.get('error'))[:200]}"
                      for g in failing)
    href, anchor = model_page(case), paths.slug(variant)
    if passing:
        text = "✓ " + ", ".join(str(o) for o in passing) + (" (not all)" if failing else "")
        return {"kind": PASS, "text": text, "title": title, "href": href, "anchor": anchor}
    return {"kind": _kind(str(worst["status"])), "text": "✗ " + str(worst["status"]),
            "title": title or str(worst["status"]), "href": href, "anchor": anchor}


def _order(envs: set[str], releases: list[str]) -> list[str]:
    return [e for e in releases if e in envs] + sorted(envs - set(releases), key=str)


def _sinces(view: pd.DataFrame, envs: list[str], releases: list[str]) -> dict[tuple, dict[tuple, dict[str, str]]]:
    """Per (case, variant): per (exporter, runtime) the since words of "exports" (a file was written, whatever the
    runtime did with it) and "agrees" (the runtime ran it and matched eager PyTorch): views/since.py for both."""
    names = {e: e.replace("-", " ") for e in envs}
    exported = view.assign(status=[PASS if s in EXPORTED else s for s in view["status"]])
    found: dict[tuple, dict[tuple, dict[str, str]]] = {}
    for what, frame in (("exports", exported), ("agrees", view)):
        for row, entries in supported_since(frame, envs, ("case", "variant"), names).items():
            for entry in entries:
                # the first measured release that works is not the first that does where older ones were not run
                gap = _unmeasured_before(entry["release"], releases, envs) if entry["kind"] == "since" else ""
                found.setdefault(row, {}).setdefault((entry["exporter"], entry["runtime"]), {})[what] = entry["text"] + gap
    return found


def _packages(view: pd.DataFrame, envs: list[str]) -> dict[str, list[str]]:
    """Each release's model packages (transformers, torchvision), as its rows recorded them (runtime_versions)."""
    found: dict[str, dict[str, str]] = {}
    for env, versions in zip(view["env_id"], view["runtime_versions"]):
        if isinstance(versions, dict):
            for package in PACKAGES:
                if isinstance(versions.get(package), str):
                    found.setdefault(env, {})[package] = versions[package]
    return {e: [f"{p} {found[e][p]}" for p in PACKAGES if p in found[e]] for e in envs if e in found}


def _row_key(facts: dict[str, str], variant: str) -> tuple:
    family = facts["family"]
    return (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), facts["architecture"].lower(),
            variant != "default", variant)


def models_context(source: Path, releases: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The index's context (a table per runtime) and each architecture page's, keyed by case id."""
    view, catalogue, problems = model_view(source)
    if view.empty:
        return {"tables": [], "envs": [], "problems": problems, "count": 0}, {}
    envs = _order(set(view["env_id"]), releases)
    sinces = _sinces(view, envs, releases)
    exporters = sorted(set(view["exporter"].dropna().astype(str)), key=lambda e: (e != "torchscript", e))
    by = {}
    for record in view.to_dict("records"):
        by.setdefault((record["case"], record["variant"], record["exporter"], record["runtime_name"],
                       record["env_id"]), []).append(record)
    rows = sorted({(c, v) for c, v in zip(view["case"], view["variant"])},
                  key=lambda cv: _row_key(model_facts(catalogue[cv[0]]), cv[1]))
    runtimes = sorted(set(view["runtime_name"].astype(str)), key=lambda r: (not r.startswith("onnxruntime"), r))
    tables_ = []
    for runtime in runtimes:
        lines = []
        for case, variant in rows:
            facts = model_facts(catalogue[case])
            since = [{"exporter": x, **NO_SINCE, **sinces.get((case, variant), {}).get((x, runtime), {})}
                     for x in exporters]
            lines.append({"case": case, "variant": variant, **facts, "href": model_page(case), "since": since,
                          "cells": [_cell(by.get((case, variant, x, runtime, e), []), case, variant)
                                    for e in envs for x in exporters]})
        tables_.append({"runtime": runtime, "lines": lines, "slug": paths.slug(runtime)})
    index = {"tables": tables_, "envs": envs, "exporters": exporters, "packages": _packages(view, envs),
             "problems": problems, "count": len({c for c, _ in rows})}
    return index, {case: _page(case, catalogue[case], by, envs, exporters, runtimes, sinces) for case in
                   sorted({c for c, _ in rows})}


def _page(case: str, entry: dict[str, Any], by: dict, envs: list[str], exporters: list[str], runtimes: list[str],
          sinces: dict) -> dict[str, Any]:
    variants = sorted({k[1] for k in by if k[0] == case}, key=lambda v: (v != "default", v))
    lines, errors = [], {}
    for variant in variants:
        for runtime in runtimes:
            for exporter in exporters:
                groups = [by.get((case, variant, exporter, runtime, e), []) for e in envs]
                if not any(groups):
                    continue
                lines.append({"variant": variant, "exporter": exporter, "runtime": runtime,
                              **NO_SINCE, **sinces.get((case, variant), {}).get((exporter, runtime), {}),
                              "cells": [_cell(g, case, variant) for g in groups]})
                for g in (r for group in groups for r in group if r["status"] not in (PASS, SKIP)):
                    key = (variant, g["env_id"], exporter, runtime, g["status"], error_signature(g.get("error")))
                    errors.setdefault(key, {"variant": variant, "env_id": g["env_id"], "exporter": exporter,
                                            "runtime": runtime, "opset": clean(g["opset"]), "status": _kind(g["status"]),
                                            "status_text": g["status"], "cell": g["cell"],
                                            "error": clean(g.get("error")) or "", "folder": g["folder"]})
    return {"case": case, "facts": model_facts(entry), "meta": entry.get("meta") or {}, "envs": envs,
            "costs": _costs(case, by, envs),
            "variants": [{"name": v, "anchor": paths.slug(v)} for v in variants], "lines": lines, "errors": list(errors.values())[:300],
            "source": entry.get("source") or "", "support": entry.get("support_sources") or {}}


def _number(value: Any, digits: int = 1) -> str:
    """A figure a row may lack or hold oddly: its text, or "–"."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{number:.{digits}f}" if pd.notna(number) else "–"


def _scientific(value: Any) -> str:
    """A divergence as it reads across magnitudes (2.5e-07, 3.1e+02), or "–"."""
    text = _number(value)
    return text if text == "–" else f"{float(value):.1e}"


def _dynamic(row: dict[str, Any]) -> str:
    kept = row.get("dynamic_kept")  # a bool, numpy's, None or NaN where the frame had none
    if isinstance(kept, (bool, int)) or type(kept).__name__ == "bool_":
        if kept:
            return "kept"
        baked = row.get("dynamic_baked")
        return "baked: " + (", ".join(map(str, baked)) if isinstance(baked, (list, tuple)) else clean(baked) or "?")
    return "–"


def _costs(case: str, by: dict, envs: list[str]) -> list[dict[str, str]]:
    """Per variant, exporter and runtime, its newest release's files (each opset that wrote one): export time and
    peak memory, size, nodes, whether the declared axes stayed symbolic, the other input sets that agreed, the
    latency against eager PyTorch's and the divergence."""
    newest: dict[tuple, str] = {}
    for (c, variant, exporter, runtime, env), group in by.items():
        if c == case and env in envs and any(g["status"] in EXPORTED for g in group):
            key = (variant, exporter, runtime)
            if key not in newest or envs.index(env) > envs.index(newest[key]):
                newest[key] = env
    found = []
    for (variant, exporter, runtime), env in sorted(newest.items(), key=lambda kv: (kv[0][0] != "default", kv[0])):
        for g in sorted(by[(case, variant, exporter, runtime, env)], key=lambda g: clean(g["opset"])):
            if g["status"] not in EXPORTED:
                continue
            stages = g.get("stage_s") if isinstance(g.get("stage_s"), dict) else {}
            shapes = g.get("extra_shapes")
            size = g.get("onnx_bytes")
            ratio = (g["latency_ms"] / g["eager_ms"] if isinstance(g.get("latency_ms"), (int, float)) and
                     isinstance(g.get("eager_ms"), (int, float)) and g["eager_ms"] > 0 else None)
            found.append({"variant": variant, "env_id": env, "exporter": exporter, "runtime": runtime,
                          "opset": clean(g["opset"]), "status": _kind(g["status"]), "status_text": g["status"],
                          "export_s": _number(stages.get("export")), "peak_mb": _number(g.get("export_peak_mb"), 0),
                          "file_mb": _number(size / 2 ** 20 if isinstance(size, (int, float)) else None, 2),
                          "nodes": _number(g.get("node_count"), 0), "dynamic": _dynamic(g),
                          "shapes": str(len(shapes)) if isinstance(shapes, (list, tuple)) else "–",
                          "latency": _number(g.get("latency_ms"), 2), "vs_eager": _number(ratio, 2),
                          "max_abs_err": _scientific(g.get("max_abs_err"))})
    return found


def write_models(source: Path, releases: list[str], pages: Pages, downloads: tables.Downloads,
                 common: dict[str, Any]) -> int:
    """Render models.html and a page per architecture (the index says so when no model rows exist); returns how
    many architectures they show."""
    index, cases = models_context(source, releases)
    rows = [{"runtime": t["runtime"], "case": line["case"], "variant": line["variant"],
             "architecture": line["architecture"], "family": line["family"], "source": line["source"],
             **{f"{s['exporter']} exports since": s.get("exports") for s in line["since"]},
             **{f"{s['exporter']} agrees since": s.get("agrees") for s in line["since"]},
             **{f"{e} {x}": c["text"] for (e, x), c in zip([(e, x) for e in index["envs"]
                                                             for x in index.get("exporters", [])], line["cells"])}}
            for t in index["tables"] for line in t["lines"]]
    links = downloads.table("models.html", rows, title="models: since when each architecture exports and agrees")
    pages.render("models.html", "models.html", **common, **index, downloads=links)
    for case, context in cases.items():
        page = model_page(case)
        data = [{"case": case, "variant": line["variant"], "exporter": line["exporter"], "runtime": line["runtime"],
                 "exports since": line.get("exports"), "agrees since": line.get("agrees"),
                 **{e: c["text"] for e, c in zip(context["envs"], line["cells"])}} for line in context["lines"]]
        pages.render(page, "model.html", **common, **context,
                     downloads=downloads.table(page, data, title=f"{case}: every variant, exporter and runtime"))
    return len(cases)
