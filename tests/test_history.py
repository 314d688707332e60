"""The whole history in turn on bounded disk (``run --keep-envs N``, matrix/envs/keep.py), and the lineup's
every-minor-release promise."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from matrix.envs.keep import KeepPolicy
from matrix.envs.lineup import Entry, load_lineup
from matrix.paths import REPO_ROOT


def _entry(env_id: str, *tags: str) -> Entry:
    pins = (f"torch=={env_id.split('-')[1]}",)
    return Entry(id=env_id, python="3.11", pins=pins, requires=pins, tags=tags)


def _fake_envs(tmp_path, *names):
    for name in names:
        (tmp_path / name / "bin").mkdir(parents=True)
        (tmp_path / name / "bin" / "python").write_text("not a python")
    (tmp_path / ".torch-1.4.0.lock").write_text("")  # lock files are not environments


def test_keep_0_removes_each_new_environment_once_it_has_run(tmp_path):
    _fake_envs(tmp_path, "torch-1.4.0", "torch-2.9.1")
    lineup = [_entry("torch-1.4.0", "quick"), _entry("torch-2.9.1"), _entry("torch-2.10.0"), _entry("torch-2.11.0")]
    policy = KeepPolicy.start(0, tmp_path, lineup)
    assert policy.before == {"torch-1.4.0", "torch-2.9.1"}
    for env_id in ("torch-2.10.0", "torch-2.11.0"):
        _fake_envs(tmp_path, env_id, f"{env_id}+models")  # what ensure_env and the model corpus would have built
        assert policy.done(env_id, log=lambda line: None) == [env_id]
        assert not (tmp_path / env_id).exists() and not (tmp_path / f"{env_id}+models").exists()
    # the ones already there stay, and so does the quick one
    assert policy.done("torch-2.9.1", log=lambda line: None) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["torch-1.4.0", "torch-2.9.1"]


def test_keep_2_keeps_the_two_most_recent_it_built(tmp_path):
    lineup = [_entry(f"torch-2.{minor}.0") for minor in range(2, 8)] + [_entry("torch-2.13.0", "quick")]
    policy = KeepPolicy.start(2, tmp_path, lineup)
    gone = []
    for env_id in ["torch-2.2.0", "torch-2.3.0", "torch-2.13.0", "torch-2.4.0", "torch-2.5.0"]:
        _fake_envs(tmp_path, env_id)
        gone.append(policy.done(env_id, log=lambda line: None))
    assert gone == [[], [], [], ["torch-2.2.0"], ["torch-2.3.0"]]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "torch-2.13.0", "torch-2.4.0", "torch-2.5.0"]
    # an entry run twice counts once, as the most recent
    assert policy.to_remove("torch-2.4.0") == [] and policy.built == ["torch-2.5.0", "torch-2.4.0"]


def test_quick_entries_protect_their_gpu_variant_too(tmp_path):
    policy = KeepPolicy.start(0, tmp_path, [_entry("torch-2.13.0", "quick")])
    assert policy.to_remove("torch-2.13.0-gpu") == [] and policy.to_remove("torch-2.13.0") == []


def test_keep_envs_takes_0_and_refuses_negatives():
    out = subprocess.run([sys.executable, "-m", "matrix", "run", "--keep-envs", "-1", "--env", "torch-1.4.0"],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "--keep-envs" in out.stderr


def _minor(entry: Entry) -> tuple[int, int]:
    major, minor = re.match(r"^(\d+)\.(\d+)", entry.torch).groups()
    return int(major), int(minor)


def test_the_lineup_has_every_minor_release_once_in_release_order():
    lineup = load_lineup()
    minors = [_minor(e) for e in lineup]
    assert minors == sorted(minors), "load_lineup orders by torch release, whatever the file's order"
    assert len(set(minors)) == len(minors)
    have = set(minors)
    wanted = {(1, m) for m in range(4, 14)} | {(2, m) for m in range(0, max(m for a, m in have if a == 2) + 1)}
    assert wanted <= have, f"missing minor releases: {sorted(wanted - have)}"
    assert lineup[-1].id == "torch-2.15.0"  # the newest is last: check and ops take it as the newest


def test_an_appended_entry_sorts_into_place_and_a_lock_keeps_the_file_order(tmp_path):
    from matrix.envs.lock import lock, render_lineup
    appended = [_entry("torch-2.13.0", "quick"), _entry("torch-2.15.0"), _entry("torch-2.14.1")]
    path = tmp_path / "lineup.toml"
    path.write_text(render_lineup(appended), encoding="utf-8")
    assert [e.id for e in load_lineup(path)] == ["torch-2.13.0", "torch-2.14.1", "torch-2.15.0"]
    before = path.read_text(encoding="utf-8")
    lock(load_lineup(path), "no-such-entry", path)  # resolves nothing, rewrites the file
    assert path.read_text(encoding="utf-8") == before


def test_dynamo_entries_before_torch_2_4_stay_below_python_3_12():
    # torch 2.2's wheels exist for 3.12, but its dynamo exporter fails there ("Python 3.12+ not yet supported
    # for torch.compile"): every dynamo cell of such an entry would be an export-fail of the interpreter's making
    for entry in load_lineup():
        if "dynamo" in entry.tags and _minor(entry) < (2, 4):
            assert tuple(int(p) for p in entry.python.split(".")) < (3, 12), entry.id


def test_own_uv_cache_gives_each_environment_a_cache_removed_after_its_run(tmp_path, monkeypatch):
    """--own-uv-cache: each build downloads into .envs/.uv-cache/<id> (UV_CACHE_DIR), gone once the entry ran, and
    the caller's UV_CACHE_DIR is back afterwards; a failing task still has its cache removed."""
    import matrix.paths
    from matrix.envs.keep import run_in_turn
    monkeypatch.setattr(matrix.paths, "ENVS_DIR", tmp_path)
    monkeypatch.setenv("UV_CACHE_DIR", "/the/callers/cache")
    seen = []

    class Task:
        def __init__(self, env_id):
            self.env_id = env_id

    def run_all(tasks, slots):
        cache = os.environ["UV_CACHE_DIR"]
        seen.append(cache)
        (tmp_path / tasks[0].env_id / "bin").mkdir(parents=True)  # what ensure_env would have built
        os.makedirs(cache)
        open(os.path.join(cache, "torch.whl"), "w").write("wheel")
        if tasks[0].env_id == "torch-2.11.0":
            raise RuntimeError("the build failed")

    lineup = [_entry("torch-2.10.0"), _entry("torch-2.11.0")]
    run_in_turn([Task("torch-2.10.0")], None, 0, lineup, run_all, lambda line: None, own_cache=True)
    try:
        run_in_turn([Task("torch-2.11.0")], None, 0, lineup, run_all, lambda line: None, own_cache=True)
    except RuntimeError:
        pass
    assert seen == [str(tmp_path / ".uv-cache" / "torch-2.10.0"), str(tmp_path / ".uv-cache" / "torch-2.11.0")]
    assert not any((tmp_path / ".uv-cache").iterdir()) and not (tmp_path / "torch-2.10.0").exists()
    assert os.environ["UV_CACHE_DIR"] == "/the/callers/cache"


def test_own_uv_cache_without_keep_envs_is_refused_in_one_line():
    done = subprocess.run([sys.executable, "-m", "matrix", "run", "--env", "torch-2.15.0", "--own-uv-cache"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--own-uv-cache goes with --keep-envs N" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
