"""One page per case: its pitfall, its source, its expectations, and where each variant works.

"Where it works" is a variant x exporter by environment table of the same at-a-glance summaries
as the overview (every variant here, not only the naive code and the workaround), each linking
to the environment's matrix at that case.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib

from matrix.views.labels import SKIP
from matrix.views.since import numbered, supported_since
from matrix.views.site.load import SiteData
from matrix.views.site.outcomes import UNMEASURED, in_words, summaries

UPSTREAM = tomllib.loads((Path(__file__).with_name("upstream.toml")).read_text(encoding="utf-8"))["links"]
EXPECT_FILTERS = ("variant", "exporter", "opset", "runtime", "provider", "torch", "python", "onnx", "onnxruntime")


def expectation(item: Any) -> dict[str, Any]:
    """An Expect as a sentence's parts: statuses, where it applies, why, and what error it matches."""
    if not isinstance(item, dict):
        return {"status": str(item), "where": [], "reason": "", "match": ""}
    where = [f"{k} {item[k]}" for k in EXPECT_FILTERS if item.get(k)]
    options = item.get("options") if isinstance(item.get("options"), dict) else {}
    where += [f"{k}={v}" for k, v in options.items() if v is not None]
    if item.get("replayed") is not None:
        where.append("replayed" if item["replayed"] else "not replayed")
    status = item.get("status")
    status = " or ".join(map(str, status)) if isinstance(status, list) else str(status)
    return {"status": status, "where": where, "reason": str(item.get("reason") or ""), "match": str(item.get("match") or "")}


def since_table(case_id: str, variants: list[str], since: dict[tuple, list[dict[str, Any]]]) -> dict[str, Any]:
    """The case's "supported since" rows (variant x exporter x runtime) and their numbered notes."""
    rows = [{"variant": v, **entry} for v in variants for entry in since.get((case_id, v), [])]
    return {"rows": rows, "notes": numbered(rows)}


def case_context(data: SiteData, case: dict[str, Any], found: dict[tuple, dict[str, Any]],
                 since: dict[tuple, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    case_id = case["id"]
    rows = data.native[data.native["case"] == case_id]
    variants = [str(v) for v in case.get("variants") or []] or sorted(set(rows["variant"]))
    exporters = sorted(set(rows[rows["status"] != SKIP]["exporter"])) or sorted(set(rows["exporter"]))
    words = in_words(rows, ["case", "variant", "exporter", "env_id"]) if not rows.empty else {}
    table = [{"variant": v, "exporter": x,
              "envs": [{**found.get((case_id, v, x, e), UNMEASURED),
                        "words": words.get((case_id, v, x, e), "").removeprefix(f"{x} ")} for e in data.env_ids]}
             for v in variants for x in exporters]
    meta = case.get("meta") if isinstance(case.get("meta"), dict) else {}
    sources = case.get("variant_sources") if isinstance(case.get("variant_sources"), dict) else {}
    return {
        "case": case, "meta": meta, "table": table, "since": since_table(case_id, variants, since or {}),
        "expect": [expectation(e) for e in meta.get("expect") or []],
        "links": list(dict.fromkeys(str(l) for l in [*(meta.get("links") or []), *UPSTREAM.get(case_id, [])]
                                    if str(l).startswith(("https://", "http://")))),
        "sources": [{"variant": v, "source": str(sources.get(v) or "")} for v in variants],
    }


def all_summaries(data: SiteData) -> dict[tuple, dict[str, Any]]:
    return summaries(data.native, ["case", "variant", "exporter", "env_id"])


def all_since(data: SiteData) -> dict[tuple, list[dict[str, Any]]]:
    """Every case and variant's "supported since", releases named as a sentence names them."""
    from matrix.views.site.overview import release_names  # the overview owns how a release is named
    return supported_since(data.view, data.env_ids, names=release_names(data))
