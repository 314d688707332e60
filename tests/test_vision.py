"""The model corpus's torchvision part: its pins beside each entry, its table, its rows across the lineup."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from matrix.envs.lineup import LineupError, find_entry, load_lineup, parse_entry
from matrix.run.plan import SelectionError

REPO = Path(__file__).resolve().parent.parent
VISION, HF = REPO / "cases" / "vision", REPO / "cases" / "hf"
ENVS = Path(os.environ.get("MATRIX_ENVS_DIR", REPO / ".envs"))
BASE = {"id": "torch-9.9.9", "python": "3.11", "pins": ["torch==9.9.9", "numpy==2.0.0"]}


# -- the pins: a group of its own beside the entry, and transformers' as they were ----------------------------------

@pytest.mark.parametrize("extra, needle", [
    ({"vision_requires": ["torchvision"], "vision_pins": ["numpy==1.0.0"]}, "vision_pins: numpy already pinned"),
    ({"vision_pins": ["torchvision==0.99.0"]}, "vision_pins without vision_requires"),
    ({"vision_requires": "torchvision"}, "vision_requires must be a list"),
    ({"vision_requires": ["torchvision"], "vision_note": 3}, "vision_note must be a string"),
])
def test_bad_vision_fields_are_named(extra, needle):
    with pytest.raises(LineupError, match=needle):
        parse_entry(dict(BASE, **extra), "lineup.toml: env #1")


def test_every_entry_has_a_torchvision_pin_or_says_why_not():
    entries = load_lineup()
    for entry in entries:
        assert entry.vision_requires[0] == "torchvision", entry.id  # torch 1.8.1 adds pillow<10 (see its pins)
        pinned = [p for p in entry.vision_pins if p.startswith("torchvision==")]
        assert pinned or entry.vision_note.startswith("no torchvision release works beside torch"), entry.id
        assert not (pinned and entry.vision_note), entry.id
    assert "torchvision==0.5.0" in find_entry(entries, "torch-1.4.0").vision_pins
    # PyPI's torchvision is built for PyPI's torch: beside the local CPU build its operators do not load
    assert "torchvision::nms does not exist" in find_entry(entries, "torch-2.13.0").vision_note


def test_case_folders_name_the_groups_they_need_and_a_wrong_name_is_told(tmp_path):
    from matrix.envs.models import GROUPS, groups_of
    assert [g.package for g in groups_of([VISION])] == ["torchvision"]
    assert [g.package for g in groups_of([VISION, HF])] == ["transformers", "torchvision"]  # transformers first
    assert groups_of([REPO / "cases"]) == []
    (tmp_path / "_requires.txt").write_text("# what these cases import\ntorchvison\n")
    with pytest.raises(SelectionError, match=r"_requires.txt: 'torchvison' is no package.*known: transformers"):
        groups_of([tmp_path])
    assert set(GROUPS) == {"transformers", "torchvision"}


def test_each_group_gets_its_folder_and_the_transformers_fingerprint_is_what_it_was(tmp_path):
    """The worker sees both folders, transformers' first; a run of cases/hf alone keeps the fingerprint suffix its
    published rows were made with (+models-<pins><note>), so adding torchvision reran none of them."""
    import hashlib

    from matrix.envs.models import worker_settings
    entry = parse_entry(dict(BASE, model_requires=["transformers[torch]"], model_note="no transformers here",
                             vision_requires=["torchvision"], vision_note="no torchvision release works: nms"), "t")
    site, more = worker_settings(entry, [HF], envs_dir=tmp_path)
    digest = lambda text: hashlib.sha256(text.encode()).hexdigest()[:8]
    pins = hashlib.sha256(json.dumps([]).encode()).hexdigest()[:8]
    assert more == f"+models-{pins}{digest('no transformers here')}" and site == str(tmp_path / "torch-9.9.9+models")
    both, more = worker_settings(entry, [HF, VISION], envs_dir=tmp_path)
    assert both.split(os.pathsep) == [str(tmp_path / "torch-9.9.9+models"), str(tmp_path / "torch-9.9.9+vision")]
    assert more.startswith("+models-") and "+vision-" in more
    marker = json.loads((tmp_path / "torch-9.9.9+vision" / ".matrix-models.json").read_text())
    assert marker["package"] == "torchvision" and marker["note"].endswith("nms") and marker["pins"] == []


def test_an_environment_going_takes_both_folders_beside_it(tmp_path):
    from matrix.envs.keep import KeepPolicy
    for name in ("torch-9.9.9", "torch-9.9.9+models", "torch-9.9.9+vision"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "file").write_text("x")
    policy = KeepPolicy(keep=0, envs_dir=tmp_path, before=set(), protected=set())
    assert policy.done("torch-9.9.9", log=lambda _: None) == ["torch-9.9.9"]
    assert list(tmp_path.iterdir()) == []


def test_the_lock_is_told_a_group_it_does_not_know():
    from matrix.envs.models import lock_groups
    entry = parse_entry(dict(BASE, vision_requires=["torchvision"]), "t")
    with pytest.raises(RuntimeError, match="--models torchvison: no such package group"):
        lock_groups(entry, lambda e: Path("/nowhere"), ["torchvison"])
    assert lock_groups(entry, lambda e: Path("/nowhere"), ["transformers"]) == {}  # nothing to lock: nothing built


# -- the table ----------------------------------------------------------------------------------------------------

def _table() -> dict:
    """cases/vision/_vision.py's table, read without torch: its data part is plain literals."""
    text = (VISION / "_vision.py").read_text()
    namespace: dict = {}
    exec(text[text.index("MODELS = {"):text.index("BATCH, SIZE")], namespace)
    return namespace["MODELS"]


def test_one_case_module_per_model_and_no_id_another_model_folder_has():
    table = _table()
    modules = {p.stem for p in VISION.glob("*.py") if not p.name.startswith("_")}
    assert modules == set(table) and len(table) >= 12
    for name in table:
        text = (VISION / f"{name}.py").read_text()
        assert f'CASE = case_of("{name}")' in text and f'return vision_model("{name}")' in text, name
        assert f'\ndef shapes():\n    return other_shapes("{name}")' in text, name
    others = {p.stem for folder in (HF, REPO / "cases" / "models") for p in folder.glob("*.py")}
    assert not modules & others  # one model, one id: the models page names cases by id
    assert (VISION / "_requires.txt").read_text().strip() == "torchvision"


def test_without_torchvision_a_cell_is_a_skip_that_says_why(tmp_path, monkeypatch):
    """Where the lock found no release, the case says what the lock said (the marker beside the environment)."""
    pytest.importorskip("torch")
    try:
        import torchvision  # noqa: F401
        pytest.skip("torchvision imports here")
    except Exception:
        pass
    from matrix.wire.contract import CaseSkip
    (tmp_path / ".matrix-models.json").write_text(json.dumps({"package": "torchvision", "note": "no torchvision "
                                                              "release works beside torch 9: nms does not exist"}))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(REPO))
    from cases.vision import _vision
    with pytest.raises(CaseSkip, match="nms does not exist"):
        _vision.vision_model("resnet18")


# -- the published rows -------------------------------------------------------------------------------------------

def test_results_hold_the_torchvision_corpus_of_every_entry_at_its_opsets():
    from matrix.run.corpora import hf_opsets
    from matrix.views.site.models import model_view
    view, catalogue, _ = model_view(REPO / "results")
    rows = view[view["case"].map(lambda c: (catalogue.get(c, {}).get("file") or "").startswith("vision/"))]
    models = set(_table())
    for entry in load_lineup():
        here = rows[rows["env_id"] == entry.id]
        for opset in hf_opsets(entry.torch).split(","):
            at = here[here["opset_requested"] == int(opset)]
            assert set(at["case"]) == models, (entry.id, opset, sorted(models - set(at["case"]))[:5])
        if not entry.vision_pins:  # no torchvision loads (2.13.0's CPU torch, 1.13.1's Python 3.11): the lock's reason
            assert set(here["status"]) == {"skip"} and (here["error"] == entry.vision_note).all(), entry.id


@pytest.mark.slow
def test_torchvision_models_run_for_real_in_torch_1_4(tmp_path):
    """torch 1.4 with torchvision 0.5.0 beside it: ResNet-18 exports with dynamic batch and image size and agrees at
    both other input sets; ShuffleNetV2's channel shuffle bakes the batch into a Reshape (batch-fail at batch 3);
    MobileNetV3 is newer than torchvision 0.5 (a skip saying so). No case reads as a change to the worker."""
    if not (ENVS / "torch-1.4.0" / "bin" / "python").exists():
        pytest.skip("torch-1.4.0 is not built here")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-1.4.0", "--cases-dir", str(VISION),
                           "--cases", "^(resnet18|shufflenet_v2_x0_5|mobilenet_v3_small)/", "--opsets", "11",
                           "--runtimes", "ort-cpu", "--out", str(out), "--jobs", "1", "--no-report", "--verbose"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    from matrix.results.read import Results
    rows = Results(out).rows().set_index("case")
    assert rows.loc["resnet18", "status"] == "pass" and len(rows.loc["resnet18", "extra_shapes"]) == 2
    assert rows.loc["shufflenet_v2_x0_5", "status"] == "batch-fail"
    assert "Reshape" in rows.loc["shufflenet_v2_x0_5", "error"]
    assert rows.loc["mobilenet_v3_small", "status"] == "skip"
    assert "has no mobilenet_v3_small (added in 0.9)" in rows.loc["mobilenet_v3_small", "error"]
    assert {v.get("torchvision") for v in rows["runtime_versions"]} == {"0.5.0"}
    assert rows["state_changed"].isna().all(), rows["state_changed"].dropna().tolist()


@pytest.mark.parametrize("argv, models", [([], False), (["--models"], True), (["--models", "torchvision"], ["torchvision"]),
                                          (["--models", "transformers", "torchvision", "--env", "torch-1.4.0"],
                                           ["transformers", "torchvision"])])
def test_lock_models_locks_every_group_or_those_named(argv, models, monkeypatch, tmp_path):
    import argparse

    from matrix.commands import lock as command
    from matrix.envs import lock as locking
    seen = {}
    monkeypatch.setattr(locking, "lock", lambda entries, only, path, models=False: seen.update(models=models) or [])
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    assert command.run(parser.parse_args(argv)) == 0
    assert seen["models"] == models
