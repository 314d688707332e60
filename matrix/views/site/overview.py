"""The overview (index.html), caniuse-style: a row per case, a column per environment.

Each cell says whether the naive code (the ``default`` variant) and the workaround (the
``workaround`` variant, where the case has one) export and run in that environment: all pass,
passes somewhere and fails somewhere, fails everywhere, or not measured, over every exporter,
opset, option and runtime of the environment's own.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from matrix.views.labels import runtime_label
from matrix.views.opsets import COUNTED, COUNTED_NOTE, WITH_REPLAYS, not_measured, requested_ignored
from matrix.views.since import in_words, supported_since
from matrix.views.site import paths
from matrix.views.site.load import SiteData
from matrix.views.site.outcomes import KINDS, UNMEASURED, summaries
from matrix.views.site.outcomes import in_words as where_it_works

NAIVE, WORKAROUND = "default", "workaround"
# the overview's "supported since" is said for the seed's own check (the case pages have every runtime)
HEADLINE_RUNTIME = runtime_label("onnxruntime", "CPUExecutionProvider")


def release_names(data: SiteData) -> dict[str, str]:
    """``torch-1.10.2`` -> ``torch 1.10.2``: a release as a sentence names it."""
    return {e: f"torch {_torch(data, e)}" for e in data.env_ids}


def case_rows(data: SiteData) -> list[dict[str, Any]]:
    found = summaries(data.native, ["case", "variant", "env_id"])
    words = where_it_works(data.native, ["case", "variant", "env_id"])
    since = supported_since(data.view, data.env_ids, names=release_names(data))
    rows = []
    for case_id, case in data.cases.items():
        meta = case.get("meta") if isinstance(case.get("meta"), dict) else {}
        variants = [str(v) for v in case.get("variants") or []]
        if not variants:  # a broken case, or one only known from its rows
            variants = sorted(set(data.view[data.view["case"] == case_id]["variant"])) if not data.view.empty else []
        shown = [v for v in (NAIVE, WORKAROUND) if v in variants] or variants[:1] or [NAIVE]
        rows.append({
            "id": case_id, "title": meta.get("title") or "", "pitfall": meta.get("pitfall") or "",
            "seed": [str(s) for s in meta.get("seed") or []], "error": case.get("error"),
            "variants": [{"name": v, "label": "naive" if v == NAIVE else "workaround",
                          "since": in_words(since.get((case_id, v), []), HEADLINE_RUNTIME) or "not measured",
                          "envs": [{**found.get((case_id, v, env), UNMEASURED), "words": words.get((case_id, v, env), "")}
                                   for env in data.env_ids]}
                         for v in shown],
        })
    return rows


def _when(text: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def reference_summary(data: SiteData, now: dt.datetime) -> dict[str, Any] | None:
    """How old the reference is and where it was made, from the environments' published.json."""
    refs = [data.references[e] for e in data.env_ids if e in data.references]
    if not refs:
        return None
    finished = [w for w in (_when(r.get("run_finished") or r.get("published_at")) for r in refs) if w]
    published = [w for w in (_when(r.get("published_at")) for r in refs) if w]
    machines = sorted({f"{r.get('cpu') or 'unknown CPU'}" + (f" with {r['gpu']}" if r.get("gpu") else ", no GPU")
                       + (f" ({r['machine']})" if r.get("machine") else "") for r in refs})
    harness = sorted({_harness(r.get("made_with")) for r in refs})
    published_with = sorted({_harness(r.get("published_with")) for r in refs})
    oldest = min(finished) if finished else None
    return {
        "environments": len(refs), "missing": [e for e in data.env_ids if e not in data.references],
        "oldest": oldest.strftime("%Y-%m-%d %H:%M UTC") if oldest else "?",
        "newest": max(finished).strftime("%Y-%m-%d %H:%M UTC") if finished else "?",
        "age_days": (now - oldest).days if oldest else None,
        "published": max(published).strftime("%Y-%m-%d %H:%M UTC") if published else "?",
        "machines": machines, "harness": harness, "published_with": published_with,
    }


def diff_links(data: SiteData, counts: dict[tuple[str, str], dict[str, int]]) -> list[dict[str, Any]]:
    """Neighbouring lineup releases, each with how many cells broke, got fixed, or fail differently."""
    pairs = list(zip(data.lineup_ids, data.lineup_ids[1:]))
    return [{"before": a, "after": b, "href": paths.diff_page(a, b), "counts": counts.get((a, b), {})} for a, b in pairs]


def overview_context(data: SiteData, now: dt.datetime, diff_counts: dict[tuple[str, str], dict[str, int]],
                     share_plot: Any) -> dict[str, Any]:
    counts = data.counts
    envs = [{"id": e, "torch": _torch(data, e), "in_lineup": e in data.entries,
             "passed": counts.get(e, {}).get("passed", 0), "total": counts.get(e, {}).get("cells", 0),
             "with_replays": counts.get(e, {}).get("with_replays", 0)} for e in data.env_ids]
    previous = {b: a for a, b in zip(data.lineup_ids, data.lineup_ids[1:])}
    for env in envs:
        before = previous.get(env["id"])
        env["diff"] = {"href": paths.diff_page(before, env["id"]), "before": before,
                       "counts": diff_counts.get((before, env["id"]), {})} if before else None
    return {
        "cases": case_rows(data), "envs": envs, "kinds": KINDS, "reference": reference_summary(data, now),
        "diffs": diff_links(data, diff_counts), "share_plot": share_plot, "problems": data.problems,
        "broken": [c for c in data.cases.values() if c.get("error")],
        "rows": len(data.rows), "source": str(data.source),
        "stale": int(data.view["stale"].sum()) if not data.view.empty else 0,
        "counted": COUNTED, "counted_note": COUNTED_NOTE, "with_replays": WITH_REPLAYS,
        "headline_runtime": HEADLINE_RUNTIME,
        "pair_pages": {f"{a}..{b}": paths.href(paths.diff_page(a, b)) for a, b in diff_counts},
        "opsets": opsets_context(data),
    }


def opsets_context(data: SiteData) -> dict[str, Any]:
    """The opsets the files have, those not measured, and the requests an exporter ignored."""
    view = data.view
    have = sorted({int(o) for o in view["opset"].dropna()}) if not view.empty else []
    return {"have": have, "not_measured": not_measured(have), "ignored": requested_ignored(view)}


def _torch(data: SiteData, env_id: str) -> str:
    """The torch release an environment stands for: the lineup's pin, else what its rows say."""
    entry = data.entries.get(env_id)
    if entry is not None:
        return entry.torch
    versions = data.view[data.view["env_id"] == env_id]["torch"].dropna()
    return str(versions.iloc[-1]) if len(versions) else "?"


def _harness(made: Any) -> str:
    """``1.0.0 at commit b8456a48178b``, or what of it was recorded."""
    made = made if isinstance(made, dict) else {}
    version, commit = made.get("harness_version"), made.get("commit")
    if not version and not commit:
        return "not recorded"
    return f"{version or 'unknown version'}" + (f" at commit {str(commit)[:12]}" if commit else "")
