"""CI shards merged: a pure copy that follows no symbolic link and refuses shards that are not one run."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

from matrix.results.merge import merge
from matrix.results.publish import PublishError
from matrix.results.store import write_json

META = {"run_id": "ci-1", "created": "2026-01-01T00:00:00+00:00", "harness_version": "1.1.0",
        "selection": {"cases": ".*"}}


def shard(root, env_id, **meta):
    run = root / env_id / "runs" / "ci-1"
    (run / "exports" / env_id).mkdir(parents=True)
    write_json(run / "run.json", {**META, **meta})
    (run / f"{env_id}.jsonl").write_text("{}\n")
    (run / "exports" / env_id / "m.onnx").write_bytes(b"onnx")
    return run


def refused(shards, out) -> str:
    with pytest.raises(PublishError) as caught:
        merge(shards, out)
    return str(caught.value)


def test_two_shards_of_one_run_merge(tmp_path):
    shard(tmp_path, "a"), shard(tmp_path, "b")
    assert merge([tmp_path / "a", tmp_path / "b"], tmp_path / "out") == ["ci-1"]
    assert (tmp_path / "out" / "runs" / "ci-1" / "exports" / "b" / "m.onnx").read_bytes() == b"onnx"


@pytest.mark.parametrize("where", ["file", "run folder", "exports member", "exports folder"])
def test_a_symlink_in_a_shard_is_refused_naming_it(tmp_path, where):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "passwd").write_text("root:x:0:0")
    run = shard(tmp_path, "a")
    link = {"file": run / "a.catalogue.json", "exports member": run / "exports" / "a" / "n.onnx",
            "run folder": run.parent / "ci-2", "exports folder": run / "exports" / "z"}[where]
    link.symlink_to(secret / "passwd" if "folder" not in where else secret)
    message = refused([tmp_path / "a"], tmp_path / "out")
    assert str(link) in message and "symbolic link" in message
    assert not list((tmp_path / "out").rglob("passwd")) and "root:x" not in "".join(
        p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file())


def test_a_symlinked_run_folder_in_out_is_refused(tmp_path):
    shard(tmp_path, "a")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out" / "runs").mkdir(parents=True)
    (tmp_path / "out" / "runs" / "ci-1").symlink_to(elsewhere)
    message = refused([tmp_path / "a"], tmp_path / "out")
    assert "out/runs/ci-1" in message and "symbolic link" in message and not list(elsewhere.iterdir())


def test_shards_that_disagree_on_harness_or_selection_are_refused_naming_both(tmp_path):
    shard(tmp_path, "a"), shard(tmp_path, "b", harness_version="9.9.9")
    message = refused([tmp_path / "a", tmp_path / "b"], tmp_path / "out")
    assert "harness_version" in message and "'9.9.9'" in message and str(tmp_path / "b") in message
    shard(tmp_path, "c", selection={"cases": "expand"})
    assert "selection" in refused([tmp_path / "a", tmp_path / "c"], tmp_path / "out2")


def test_the_command_says_it_in_one_line_and_exits_2(tmp_path):
    run = shard(tmp_path, "a")
    (run / "a.skips.json").symlink_to("/etc/hostname")
    done = subprocess.run([sys.executable, "-m", "matrix", "merge", str(tmp_path / "a"), "--out", str(tmp_path / "o")],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "symbolic link" in done.stderr, done.stderr
