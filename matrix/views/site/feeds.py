"""The site for scripts: index.json (every page, environment, file and download), the release diffs as
regressions.json and an Atom feed (as asv publishes its regressions), and the search page's index.

All of it is built from the contexts the pages render, so a script reads what a person sees.
"""
from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import quote

from matrix.results.read import without_colours
from matrix.views.labels import error_signature
from matrix.views.site import paths
from matrix.views.site.load import SiteData
from matrix.views.values import clean

ATOM = "http://www.w3.org/2005/Atom"
SEARCH_TEXT = 300  # characters of an error the search index keeps (the page links the whole)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str) + "\n"


def site_index(data: SiteData, pages: dict[str, int], downloads: list[dict[str, Any]], out: Path,
               generated: str) -> str:
    """index.json: what a script needs to find anything on the site without scraping a page."""
    files = {}
    for env_id in data.env_ids:
        folder = out / paths.files_dir(env_id)
        names = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) \
            if folder.is_dir() else []
        files[env_id] = [paths.href(f"{paths.files_dir(env_id)}/{name}") for name in names]
    envs = [{"id": e, "page": paths.href(paths.env_page(e)), "history": paths.href(paths.history_page(e)),
             "files": files.get(e, []), "reference": (data.references.get(e) or {}).get("run_id")}
            for e in data.env_ids]
    return _json({"generated": generated, "source": "python3 -m matrix site", "pages": sorted(pages),
                  "envs": envs, "cases": [{"id": c, "page": paths.href(paths.case_page(c))} for c in data.cases],
                  "diffs": [{"before": a, "after": b, "page": paths.href(paths.diff_page(a, b))}
                            for a, b in zip(data.lineup_ids, data.lineup_ids[1:])],
                  "downloads": downloads, "feeds": {"regressions": "regressions.json", "atom": "regressions.xml"}})


def regressions(diffs: dict[tuple[str, str], dict[str, Any]], generated: str) -> str:
    """regressions.json: per pair of neighbouring releases, every cell that broke, with its error."""
    items = []
    for (before, after), context in diffs.items():
        for section in context["sections"]:
            if section["change"] != "broke":
                continue
            for entry in section["entries"]:
                items.append({"before": before, "after": after, "case": entry["case"], "variant": entry["variant"],
                              "status_before": entry["status_before"], "status_after": entry["status_after"],
                              "cells": len(entry["where"]), "where": entry["where"],
                              "error": entry["error"].split("\n")[0][:500],
                              "page": paths.href(paths.diff_page(before, after))})
    summary = [{"before": a, "after": b, "page": paths.href(paths.diff_page(a, b)), **c["counts"]}
               for (a, b), c in diffs.items()]
    return _json({"generated": generated, "diffs": summary, "regressions": items})


def atom(diffs: dict[tuple[str, str], dict[str, Any]], updated: dt.datetime) -> bytes:
    """regressions.xml: an Atom entry per release diff (links relative to the feed, which sits at the root)."""
    ET.register_namespace("", ATOM)
    tag = lambda name: f"{{{ATOM}}}{name}"
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    feed = ET.Element(tag("feed"))
    ET.SubElement(feed, tag("title")).text = "The matrix: what changed between PyTorch releases"
    ET.SubElement(feed, tag("id")).text = "urn:matrix:regressions"
    ET.SubElement(feed, tag("updated")).text = stamp
    ET.SubElement(feed, tag("link"), href="index.html")
    for (before, after), context in reversed(list(diffs.items())):  # the newest release first
        counts = context["counts"]
        entry = ET.SubElement(feed, tag("entry"))
        ET.SubElement(entry, tag("title")).text = (
            f"{before} → {after}: {counts.get('broke', 0)} broke, {counts.get('fixed', 0)} fixed, "
            f"{counts.get('fails differently', 0)} fail differently")
        ET.SubElement(entry, tag("id")).text = f"urn:matrix:diff:{before}..{after}"
        ET.SubElement(entry, tag("updated")).text = stamp
        ET.SubElement(entry, tag("link"), href=paths.href(paths.diff_page(before, after)))
        broke = [s for s in context["sections"] if s["change"] == "broke"]
        lines = [f"{e['case']}/{e['variant']}: {e['status_before']} → {e['status_after']} in {len(e['where'])} cell(s)"
                 for s in broke for e in s["entries"]]
        ET.SubElement(entry, tag("summary")).text = "\n".join(lines) or "nothing broke"
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def search_index(data: SiteData) -> list[dict[str, str]]:
    """The search page's entries: every case (title, pitfall) and every distinct error per case (by signature)."""
    entries = []
    for case_id, case in data.cases.items():
        meta = case.get("meta") or {}
        entries.append({"kind": "case", "title": f"{case_id}: {meta.get('title') or ''}",
                        "text": str(meta.get("pitfall") or case.get("error") or ""), "href": paths.href(paths.case_page(case_id))})
    failed = data.view[data.view["error"].notna()] if "error" in data.view else data.view.iloc[0:0]
    seen: dict[tuple, dict[str, Any]] = {}
    for record in failed[["case", "variant", "env_id", "status", "error", "cell"]].to_dict("records"):
        error = without_colours(str(clean(record["error"]) or "")).strip()
        key = (record["case"], error_signature(error))
        entry = seen.get(key)
        if entry is None:
            seen[key] = entry = {"kind": "error", "title": f"{record['case']}/{record['variant']}: {record['status']}",
                                 "text": error[:SEARCH_TEXT],
                                 "href": paths.href(paths.env_page(record["env_id"])) + "#cell=" + quote(str(record["cell"]), safe="/"),
                                 "envs": []}
        if record["env_id"] not in entry["envs"]:
            entry["envs"].append(record["env_id"])
    for entry in seen.values():
        entry["title"] += f" (in {', '.join(entry.pop('envs'))})"
        entries.append(entry)
    return entries
