"""Every table of the site as data: a CSV and a JSON file beside the page, with the rows the page shows.

A page's context builder hands its table here as a list of flat dicts (the same records its template
renders); ``Downloads.table`` writes ``data/<page>[.<name>].csv`` and ``.json`` and returns the links the
template shows. Any page can use it, so a new corpus's tables get downloads by passing their rows.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from matrix.views.html import write_page
from matrix.views.values import clean


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _cell(value: Any) -> Any:
    value = clean(value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


class Downloads:
    """Writes tables under ``out/data/`` and remembers them (for index.json and the pruning of old ones)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: dict[str, int] = {}
        self.tables: list[dict[str, Any]] = []

    def table(self, page: str, rows: list[dict[str, Any]], name: str = "", title: str = "") -> list[dict[str, str]]:
        """Write ``rows`` as CSV and JSON for ``page``; the links as [{format, href}], hrefs from the site's root."""
        stem = "data/" + page.removesuffix(".html") + (f".{name}" if name else "")
        columns = _columns(rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: _cell(row.get(k)) for k in columns} for row in rows)
        document = {"page": page, "table": name or "main", "title": title, "columns": columns,
                    "rows": [{k: clean(row.get(k)) for k in columns} for row in rows]}
        links = []
        for suffix, text in (("csv", buffer.getvalue()),
                             ("json", json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str))):
            self.written[f"{stem}.{suffix}"] = write_page(self.out / f"{stem}.{suffix}", text)
            links.append({"format": suffix.upper(), "href": f"{stem}.{suffix}"})
        self.tables.append({"page": page, "table": name or "main", "title": title, "rows": len(rows),
                            **{link["format"].lower(): link["href"] for link in links}})
        return links


def overview_rows(context: dict[str, Any]) -> list[dict[str, Any]]:
    """The overview's cells: a row per case, variant shown and environment, as the page prints them."""
    envs = context.get("envs") or []
    return [{"case": c["id"], "variant": v["name"], "shown_as": v["label"], "env_id": e["id"], "torch": e["torch"],
             "kind": s["kind"], "summary": s["label"], "passed": s["passed"], "ran": s["total"], "counts": s["counts"]}
            for c in context.get("cases") or [] for v in c["variants"] for e, s in zip(envs, v["envs"])]


def case_rows(context: dict[str, Any], env_ids: list[str]) -> list[dict[str, Any]]:
    """A case page's "where each variant works": a row per variant, exporter and environment."""
    case_id = context["case"]["id"]
    return [{"case": case_id, "variant": t["variant"], "exporter": t["exporter"], "env_id": env, "kind": s["kind"],
             "passed": s["passed"], "ran": s["total"], "counts": s["counts"]}
            for t in context.get("table") or [] for env, s in zip(env_ids, t["envs"])]


def diff_rows(context: dict[str, Any]) -> list[dict[str, Any]]:
    """A release diff's cells: a row per changed cell, grouped as the page groups them."""
    return [{"before": context["before"], "after": context["after"], "change": s["change"], "case": e["case"],
             "variant": e["variant"], "where": where, "status_before": e["status_before"],
             "status_after": e["status_after"], "error": e["error"].split("\n")[0][:500]}
            for s in context.get("sections") or [] for e in s["entries"] for where in e["where"]]
