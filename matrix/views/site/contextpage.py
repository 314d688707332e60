"""context.html: what the matrix's answers rest on, stated once for every page to link.

The seed's claims S1-S13 (``seed_claims.toml``) and, per release, whether each case still shows its claim
(``matrix.views.claims``); the cells whose outcome is not what their case expects (regressions and
unexpected passes); and which exporter ``torch.onnx.export`` uses when the caller does not choose, per
release of the lineup.
"""
from __future__ import annotations

import re
from typing import Any

from matrix.views.claims import claim_table
from matrix.views.labels import NOT_AS_EXPECTED, runtime_label
from matrix.views.site.load import SiteData
from matrix.views.values import clean

# torch.onnx.export's default exporter. pytorch/pytorch#159646 ("[ONNX] Default to dynamo export", merged
# August 2025, first in torch 2.9) set dynamo=True by default with a fallback to the TorchScript exporter
# when the dynamo export fails; the tracking issue is pytorch/pytorch#151693.
DYNAMO_DEFAULT_SINCE = (2, 9)
DEFAULT_SOURCES = ["https://github.com/pytorch/pytorch/pull/159646", "https://github.com/pytorch/pytorch/issues/151693"]


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(version).split("+")[0])[:3])


def default_exporter(torch: str) -> dict[str, str]:
    """What ``torch.onnx.export(model, args, f)`` with no ``dynamo=`` argument does in a torch release."""
    release = _release(torch)
    if not release:
        return {"exporter": "unknown", "how": "the torch version is not recorded"}
    if release >= DYNAMO_DEFAULT_SINCE:
        return {"exporter": "dynamo", "how": "dynamo=True is the default (torch.export); a failed export falls back "
                                             "to TorchScript; pass dynamo=False for the TorchScript exporter"}
    if release >= (2, 1):
        return {"exporter": "torchscript", "how": "TorchScript by default; the dynamo exporter only when asked for "
                                                  "(torch.onnx.dynamo_export, later dynamo=True)"}
    return {"exporter": "torchscript", "how": "TorchScript, the only exporter of this release"}


def not_as_expected(data: SiteData) -> list[dict[str, Any]]:
    """Cells whose outcome is not what their case expects, grouped by case, variant, environment and verdict."""
    view = data.view
    odd = view[view["verdict"].isin(NOT_AS_EXPECTED)] if not view.empty else view
    groups: dict[tuple, dict[str, Any]] = {}
    for record in odd.to_dict("records"):
        row = {k: clean(v) for k, v in record.items()}
        key = (row["case"], row["variant"], row["env_id"], row["verdict"], row["status"])
        entry = groups.setdefault(key, {"case": key[0], "variant": key[1], "env_id": key[2], "verdict": key[3],
                                        "status": key[4], "expected": row.get("expected_status") or "",
                                        "reason": row.get("expectation_reason") or "", "cell": row.get("cell"),
                                        "where": []})
        entry["where"].append(f"{row['exporter']} opset {row['opset_requested']} "
                              f"{runtime_label(row['runtime'], row['provider'])}"
                              + (f" @{row['runtime_env']}" if row.get("runtime_env") else ""))
    return sorted(groups.values(), key=lambda e: (e["verdict"], e["case"], e["variant"], e["env_id"]))


def context_page(data: SiteData, torch_of: dict[str, str]) -> dict[str, Any]:
    claims = claim_table(data.view, data.cases, data.env_ids) if not data.view.empty else []
    for claim in claims:
        for case in claim["cases"]:
            case["envs"] = [case["envs"][e] for e in data.env_ids]
    defaults = [{"env_id": e, "torch": torch_of.get(e, "?"), **default_exporter(torch_of.get(e, ""))}
                for e in data.env_ids]
    return {"claims": claims, "odd": not_as_expected(data), "defaults": defaults, "default_sources": DEFAULT_SOURCES}


def claim_rows(context: dict[str, Any], env_ids: list[str]) -> list[dict[str, Any]]:
    """The claims table as data: a row per claim, case and environment."""
    return [{"claim": c["id"], "text": c["text"], "case": k["id"], "env_id": env, "holds": j["holds"],
             "naive": j["naive"], "fixed": j["fixed"], "why": j["why"]}
            for c in context["claims"] for k in c["cases"] for env, j in zip(env_ids, k["envs"])]
