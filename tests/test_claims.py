"""Seed claims: whether each holds per environment, from naive and workaround cells."""
from __future__ import annotations

import pandas as pd

from matrix.views.claims import claim_table, judge_case, load_claims


def rows(*records):
    base = {"case": "c", "env_id": "e", "variant": "default", "status": "pass", "runtime": "onnxruntime",
            "provider": "CPUExecutionProvider", "runtime_env": "", "node_count": 4, "gpu_node_share": None,
            "keep_initializers_as_inputs": None}
    return pd.DataFrame([{**base, **r} for r in records])


CASE = {"id": "c", "variants": ["default", "workaround"], "meta": {"seed": ["S12"]}}


def test_pitfall_holds_where_the_naive_form_fails_and_the_workaround_passes():
    verdict = judge_case(rows({"status": "load-fail"}, {"variant": "workaround"}), CASE)
    assert verdict["holds"] is True and verdict["naive"] == "1/1 fail" and verdict["fixed"] == "1/1 pass"


def test_pitfall_no_longer_holds_where_the_naive_form_passes():
    assert judge_case(rows({}, {"variant": "workaround"}), CASE)["holds"] is False


def test_skips_count_as_not_measured():
    assert judge_case(rows({"status": "skip"}), CASE)["holds"] is None


def test_option_filters_and_capability_claims():
    case = {"id": "c", "variants": ["default"], "meta": {"naive": {"keep_initializers_as_inputs": False, "runtime": "caffe2"},
                                                         "fixed": {"keep_initializers_as_inputs": True, "runtime": "caffe2"}}}
    frame = rows({"runtime": "caffe2", "keep_initializers_as_inputs": False, "status": "load-fail"},
                 {"runtime": "caffe2", "keep_initializers_as_inputs": True},
                 {"runtime": "onnxruntime", "keep_initializers_as_inputs": False})
    assert judge_case(frame, case)["naive"] == "1/1 fail"
    capability = {"id": "c", "variants": ["default"], "meta": {"holds_when": "naive-passes"}}
    assert judge_case(rows({}), capability)["holds"] is True


def test_gpu_share_claim_needs_gpu_cells():
    case = {"id": "c", "variants": ["default"], "meta": {"holds_when": "lower-gpu-share",
            "naive": {"do_constant_folding": False}, "fixed": {"do_constant_folding": True}}}
    cpu = rows({"do_constant_folding": False}, {"do_constant_folding": True})
    assert judge_case(cpu, case)["why"] == "not measured: no GPU cells"
    gpu = rows({"do_constant_folding": False, "provider": "CUDAExecutionProvider", "gpu_node_share": 0.5},
               {"do_constant_folding": True, "provider": "CUDAExecutionProvider", "gpu_node_share": 1.0})
    assert judge_case(gpu, case)["holds"] is True


def test_every_seed_claim_is_listed_and_replays_do_not_count():
    assert [c["id"] for c in load_claims()] == [f"S{i}" for i in range(1, 14)]
    frame = rows({"status": "load-fail", "runtime_env": "newest"}, {"status": "pass"})
    table = claim_table(frame, {"c": CASE}, ["e"])
    s12 = next(c for c in table if c["id"] == "S12")
    assert s12["cases"][0]["envs"]["e"]["holds"] is False  # only the native pass counts
