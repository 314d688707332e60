"""The seed's claims S1-S13, and per environment whether each still holds, from the current view.

A case names its claims (CASE.seed), which of its cells show the pitfall (CASE.naive, by
default the ``default`` variant) and the workaround (CASE.fixed, by default ``workaround``),
and whether the claim holds where the naive cells fail, pass, or leave nodes off the GPU.
Only each environment's own runtimes count here, not replays; onnxruntime's unless the case
names another runtime.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import tomllib

from matrix.adapters import is_device
from matrix.paths import SEED_CLAIMS_FILE
from matrix.views.labels import PASS, SKIP

CLAIMS_FILE = SEED_CLAIMS_FILE


def load_claims(path: Path = CLAIMS_FILE) -> list[dict[str, str]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["claim"]


def _select(rows: pd.DataFrame, where: dict[str, Any]) -> pd.DataFrame:
    for key, value in where.items():
        if key not in rows:
            return rows.iloc[0:0]
        rows = rows[rows[key].isna()] if value is None else rows[rows[key] == value]
    return rows


# The seed verifies every export with onnxruntime (S2): a claim is judged on onnxruntime's cells
# unless the case's filter names another runtime (S4 is about Caffe2). Otherwise Caffe2's S4
# failure, which every case with weights shows, would read as every other claim holding.
DEFAULT_RUNTIME = {"runtime": "onnxruntime"}


def _filters(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    meta = case.get("meta") or {}
    naive = meta.get("naive") or {"variant": "default"}
    fixed = meta.get("fixed")
    if fixed is None and "workaround" in (case.get("variants") or []):
        fixed = {"variant": "workaround"}
    with_runtime = lambda where: where if where is None or "runtime" in where else {**DEFAULT_RUNTIME, **where}
    return with_runtime(naive), with_runtime(fixed)


def judge_case(rows: pd.DataFrame, case: dict[str, Any]) -> dict[str, Any]:
    """Whether one environment's cells of one case support its claim."""
    naive_filter, fixed_filter = _filters(case)
    ran = rows[rows["status"] != SKIP]
    naive = _select(ran, naive_filter)
    fixed = _select(ran, fixed_filter) if fixed_filter else ran.iloc[0:0]
    mode = (case.get("meta") or {}).get("holds_when", "naive-fails")
    naive_failed = int((naive["status"] != PASS).sum())
    fixed_passed = int((fixed["status"] == PASS).sum())
    result = {"naive": f"{naive_failed}/{len(naive)} fail" if len(naive) else "–",
              "fixed": f"{fixed_passed}/{len(fixed)} pass" if len(fixed) else "–",
              "nodes": None}
    if "node_count" in rows and len(naive) and len(fixed):
        result["nodes"] = f"{naive['node_count'].median():g} → {fixed['node_count'].median():g} nodes"
    if mode == "lower-gpu-share":
        on_gpu = lambda frame: frame[pd.Series([is_device(r, p) for r, p in zip(frame["runtime"], frame["provider"])],
                                               index=frame.index, dtype=bool)
                                     & pd.to_numeric(frame["gpu_node_share"], errors="coerce").notna()]
        naive_gpu, fixed_gpu = on_gpu(naive), on_gpu(fixed)
        if naive_gpu.empty or fixed_gpu.empty:
            return {**result, "holds": None, "why": "not measured: no GPU cells"}
        share = lambda frame: pd.to_numeric(frame["gpu_node_share"]).mean()
        by_opset = ", ".join(f"opset {opset}: {share(group):.0%}"
                             for opset, group in naive_gpu.groupby("opset_requested", dropna=True)
                             ) if "opset_requested" in naive_gpu else ""
        holds = share(naive_gpu) < share(fixed_gpu)
        return {**result, "naive": f"{share(naive_gpu):.0%} on GPU", "fixed": f"{share(fixed_gpu):.0%} on GPU",
                "holds": bool(holds),
                "why": f"GPU node share {share(naive_gpu):.0%} naive{f' ({by_opset})' if by_opset else ''}, "
                       f"{share(fixed_gpu):.0%} fixed"}
    if not len(naive):
        return {**result, "holds": None, "why": "no cell ran"}
    holds = naive_failed > 0 if mode == "naive-fails" else naive_failed == 0
    return {**result, "holds": holds, "why": ""}


def claim_table(view: pd.DataFrame, catalogue: dict[str, dict[str, Any]], envs: list[str]) -> list[dict[str, Any]]:
    """One entry per claim: its text, its cases, and per environment a verdict per case."""
    native = view[view["runtime_env"] == ""] if "runtime_env" in view else view
    table = []
    for claim in load_claims():
        cases = [c for c in catalogue.values() if claim["id"] in ((c.get("meta") or {}).get("seed") or [])]
        per_case = []
        for case in sorted(cases, key=lambda c: c["id"]):
            rows = native[native["case"] == case["id"]]
            per_env = {env: judge_case(rows[rows["env_id"] == env], case) for env in envs}
            per_case.append({"id": case["id"], "title": (case.get("meta") or {}).get("title", ""),
                             "holds_when": (case.get("meta") or {}).get("holds_when", "naive-fails"),
                             "envs": per_env})
        table.append({**claim, "cases": per_case})
    return table
