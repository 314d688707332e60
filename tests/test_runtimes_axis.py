"""The runtime axis: onnxruntime releases chosen from a fake index, bad input, the overview and diffs on rows with
broken cells, the site's page, the runtime bisect's ranges, and one real runtime environment built and replayed."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from matrix.commands import main
from matrix.envs.lineup import find_entry, load_lineup
from matrix.run import ortindex
from matrix.run.bisect import BisectError
from matrix.run.runtime_bisect import base_cell, cell_selection, releases_between
from matrix.views.runtimes import axis_frame, neighbour_diffs, overview
from matrix.wire import Row

REPO = Path(__file__).resolve().parent.parent
WHEEL = "onnxruntime-{v}-{tag}-{tag}-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"


def wheels(version: str, *tags: str, yanked: bool = False) -> list[dict]:
    return [{"filename": WHEEL.format(v=version, tag=t), "yanked": yanked} for t in tags]


def fake_index(tmp_path: Path) -> Path:
    releases = {
        "1.16.0": wheels("1.16.0", "cp310"), "1.16.3": wheels("1.16.3", "cp310"),  # no wheel for 3.11
        "1.17.0": wheels("1.17.0", "cp311"), "1.17.3": wheels("1.17.3", "cp311"),
        "1.18.0": wheels("1.18.0", "cp311"), "1.18.1": wheels("1.18.1", "cp311", yanked=True),  # yanked: 1.18.0 is last
        "1.19.0rc1": wheels("1.19.0rc1", "cp311"),  # a pre-release: left out
        "1.19.2": wheels("1.19.2", "cp311") + [{"filename": "onnxruntime-1.19.2-cp311-cp311-win_amd64.whl"}],
        "1.20.0": wheels("1.20.0", "cp311"), "1.20.1": wheels("1.20.1", "cp311"),
        "1.21.0": [],  # no files at all
    }
    path = tmp_path / "onnxruntime.json"
    path.write_text(json.dumps({"info": {"name": "onnxruntime"}, "releases": releases}))
    return path


def test_the_axis_is_the_last_patch_of_each_minor_and_lists_releases_without_a_wheel(tmp_path):
    data = ortindex.read_index(fake_index(tmp_path))
    chosen = ortindex.axis(data, "3.11")
    assert [r for r, _ in chosen] == ["1.16.3", "1.17.3", "1.18.0", "1.19.2", "1.20.1"]
    reasons = dict(chosen)
    assert reasons["1.16.3"] == "no wheel for Python 3.11 on Linux x86_64 (wheels for: cp310)"
    assert all(not reasons[r] for r in ("1.17.3", "1.18.0", "1.19.2", "1.20.1"))
    assert [r for r, _ in ortindex.axis(data, "3.11", "1.17..1.19")] == ["1.17.3", "1.18.0", "1.19.2"]
    # an exact patch at the top of the window is the one run, not its minor's last patch
    assert [r for r, _ in ortindex.axis(data, "3.11", "1.19..1.20.0")] == ["1.19.2", "1.20.0"]
    assert "1.19.0rc1" in ortindex.finals(data, pre=True) and "1.19.0rc1" not in ortindex.finals(data)
    assert ortindex.wheel_reason(data["releases"]["1.20.1"], "3.12").startswith("no wheel for Python 3.12")


def test_for_runtime_swaps_only_onnxruntime():
    entry = find_entry(load_lineup(), "torch-2.13.0")
    variant = entry.for_runtime("1.20.1")
    assert variant.id == "torch-2.13.0-ort1.20.1" and variant.pin("onnxruntime") == "1.20.1"
    assert "onnxruntime==1.20.1" in variant.requires and variant.pin("torch") == entry.pin("torch")
    assert {p for p in variant.pins if not p.startswith("onnxruntime==")} == {
        p for p in entry.pins if not p.startswith("onnxruntime==")}
    assert "runtimes" in variant.tags and not variant.gpu_runtime


@pytest.mark.parametrize("argv, says", [
    (["runtimes", "--env", "torch-2.13.0", "--onnxruntime", "9.9..9.10", "--list"], "--onnxruntime 9.9: no such onnxruntime"),
    (["runtimes", "--env", "torch-2.13.0", "--onnxruntime", "1.17", "--list"], "--onnxruntime '1.17': say A..B"),
    (["runtimes", "--env", "torch-2.13.0", "--onnxruntime", "1.16..1.16", "--envs-dir", "X"],
     "--env torch-2.13.0: no onnxruntime release in the window has a wheel for Python 3.11"),
    (["runtimes", "--env", "torch-0.0.0", "--list"], "no lineup entry 'torch-0.0.0'"),
])
def test_bad_input_is_one_line_naming_the_value_and_exit_2(tmp_path, capsys, monkeypatch, argv, says):
    monkeypatch.setenv(ortindex.INDEX_ENV, str(fake_index(tmp_path)))
    monkeypatch.chdir(tmp_path)
    assert main(argv + ["--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert says in err[-1] and err[-1].startswith("error:")
    assert not (tmp_path / "out").exists() and not (tmp_path / "X").exists()  # nothing built, nothing written


def test_runtime_bisect_ranges_are_checked_on_the_index_first(tmp_path):
    data = ortindex.read_index(fake_index(tmp_path))
    assert releases_between(data, "1.17.3..1.20.1", False) == ["1.17.3", "1.18.0", "1.19.2", "1.20.0", "1.20.1"]
    assert releases_between(data, "1.20.1..1.17", False)[0] == "1.20.1"  # a fix: good is the newer end
    with pytest.raises(BisectError, match="no onnxruntime release between 1.20.0 and 1.20.1"):
        releases_between(data, "1.20.0..1.20.1", False)
    with pytest.raises(ortindex.OrtIndexError, match="--onnxruntime 1.99.0: no such onnxruntime release"):
        releases_between(data, "1.17.3..1.99.0", False)
    cell = "basic_export/default/dynamo/opset18/dynamic_axes=True/onnxruntime/CPUExecutionProvider@torch-2.13.0-ort1.20.1"
    assert base_cell(cell).endswith("/CPUExecutionProvider") and cell_selection(cell) == r"^basic_export/default$"
    with pytest.raises(BisectError, match="not an onnxruntime CPU cell"):
        cell_selection("basic_export/default/dynamo/opset18/dynamic_axes=True/reference/onnx.reference")


def test_bisect_command_refuses_a_range_with_nothing_between(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ortindex.INDEX_ENV, str(fake_index(tmp_path)))
    cell = "basic_export/default/dynamo/opset18/dynamic_axes=True/onnxruntime/CPUExecutionProvider"
    assert main(["bisect", cell, "--onnxruntime", "1.20.0..1.20.1", "--env", "torch-2.13.0",
                 "--out", str(tmp_path / "state"), "--envs-dir", str(tmp_path / "envs")]) == 2
    assert "no onnxruntime release between 1.20.0 and 1.20.1" in capsys.readouterr().err
    assert not (tmp_path / "envs").exists()


def axis_rows() -> list[dict]:
    """Three files on three releases: one breaks (load-fail), one crashes then is fixed, one never runs on 1.19."""
    rows = []
    table = {
        "a": {"1.19.2": ("pass", None), "1.20.1": ("load-fail", "[ONNXRuntimeError] : 1 : FAIL : node (n3) bad"),
              "1.21.1": ("load-fail", "[ONNXRuntimeError] : 1 : FAIL : node (n7) bad")},
        "b": {"1.19.2": ("crash", "the worker died with SIGSEGV (exit -11)"), "1.20.1": ("pass", None),
              "1.21.1": ("run-fail", "Invalid <script> rank")},
        "c": {"1.20.1": ("pass", None), "1.21.1": ("pass", None)},
        "d": {"1.19.2": ("diverge", "max abs error 3"), "1.20.1": ("diverge", "max abs error 4"),
              "1.21.1": ("diverge", "max abs error 5")},
    }
    for case, by in table.items():
        for release, (status, error) in by.items():
            env = f"torch-2.13.0-ort{release}"
            rows.append({**Row().to_dict(), "cell": f"{case}/default/dynamo/opset18/dynamic_axes=True/onnxruntime/CPUExecutionProvider@{env}",
                         "env_id": "torch-2.13.0", "case": case, "variant": "default", "exporter": "dynamo",
                         "opset_requested": 18, "runtime": "onnxruntime", "runtime_env": env,
                         "runtime_onnxruntime": release, "status": status, "error": error, "verdict": "as-expected"})
    rows.append({**rows[0], "runtime_env": "torch-2.15.0", "runtime_onnxruntime": "1.32.0"})  # another axis: not this one
    return rows


def test_overview_and_neighbour_diffs_on_rows_with_broken_cells():
    frame = axis_frame(pd.DataFrame(axis_rows()), "torch-2.13.0")
    view = overview(frame)
    assert view["releases"] == ["1.19.2", "1.20.1", "1.21.1"] and view["moving"] == 2
    assert [f["case"] for f in view["files"]] == ["a", "b", "c", "d"]  # the files that move first
    c = view["files"][2]["cells"]
    assert c[0]["status"] is None and c[1]["status"] == "pass"  # no row on 1.19.2: an empty cell, not a pass
    # one outcome on every release (the same signature: only a number differs) is one cell; a gap is not uniform
    assert view["files"][3]["uniform"]["status"] == "diverge" and view["files"][2]["uniform"] is None
    diffs = {(d["before"], d["after"]): d for d in neighbour_diffs(frame)}
    first = diffs[("1.19.2", "1.20.1")]
    assert first["counts"] == {"broke": 1, "fixed": 1, "fails differently": 0}
    assert first["notes"] == "https://github.com/microsoft/onnxruntime/releases/tag/v1.20.1"
    second = diffs[("1.20.1", "1.21.1")]
    # a's node name changed but its signature did not: the same failure; b broke again, differently
    assert second["counts"] == {"broke": 1, "fixed": 0, "fails differently": 0}
    assert second["changes"]["broke"][0]["file"].startswith("torch-2.13.0: b/default")


def test_site_page_shows_the_axis_with_status_colours_and_error_titles(tmp_path):
    from matrix.results.publish import write_rows
    from matrix.views.site.render import Pages
    from matrix.views.site.runtimes import write_runtimes
    folder = tmp_path / "results" / "runtimes"
    folder.mkdir(parents=True)
    write_rows(folder / "torch-2.13.0", axis_rows())
    record = {"entry": "torch-2.13.0", "python": "3.11", "onnxruntime": "1.32.0", "files": ["torch-2.13.0"],
              "releases": {"1.18.1": {"outcome": "no-resolve", "reason": "onnxruntime==1.18.1 depends on numpy<2.0"},
                           "1.20.1": {"outcome": "ran", "cells": 3, "build_s": 1.2, "run_s": 5.0,
                                      "disk": {"own_mb": 2, "files_mb": 1047}}}}
    (folder / "torch-2.13.0.json").write_text(json.dumps(record))
    pages = Pages(tmp_path / "site")
    write_runtimes(tmp_path / "results", pages, {"generated": "now", "env_ids": ["torch-2.13.0"]})
    html = (tmp_path / "site" / "runtimes.html").read_text()
    assert 'class="s-load-fail" title="load-fail: [ONNXRuntimeError] : 1 : FAIL : node (n3) bad"' in html
    assert "Invalid &lt;script&gt; rank" in html and "<script> rank" not in html  # autoescaped
    assert "releases/tag/v1.21.1" in html and "depends on numpy&lt;2.0" in html and "1047 MB" in html
    assert "1 broke, 1 fixed, 0 fails differently" in " ".join(html.split())
    assert 'colspan="3" class="s-diverge"' in html and "diverge on every release" in html
    assert 'title="pass"' in html and "nan" not in html  # a pass read back from Parquet has no error


def test_site_page_says_so_when_nothing_is_published(tmp_path):
    from matrix.views.site.render import Pages
    from matrix.views.site.runtimes import write_runtimes
    write_runtimes(tmp_path, Pages(tmp_path / "site"), {"generated": "now", "env_ids": []})
    assert "No runtime axis is published yet" in (tmp_path / "site" / "runtimes.html").read_text()


@pytest.mark.slow
def test_one_runtime_environment_built_and_replaying_real_files(tmp_path):
    """onnxruntime 1.20.1 beside torch-2.13.0's pins (hard links from uv's cache), two of its published files."""
    out, envs = tmp_path / "out", tmp_path / "envs"
    done = subprocess.run([sys.executable, "-m", "matrix", "runtimes", "--env", "torch-2.13.0", "--onnxruntime",
                           "1.20.1..1.20.1", "--files", "torch-2.13.0", "--cases", "^basic_export/default$",
                           "--out", str(out), "--envs-dir", str(envs)],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "torch-2.13.0.runtimes.json").read_text())
    item = record["releases"]["1.20.1"]
    assert item["outcome"] == "ran" and item["imported"] == "1.20.1" and item["cells"] >= 2
    assert item["disk"]["own_mb"] < 100 < item["disk"]["files_mb"]  # hard links: the files are uv's cache's
    assert not (envs / "torch-2.13.0-ort1.20.1").exists()  # gone once its rows are written
    from matrix.results.read import Results
    rows = Results(out).rows()
    assert set(rows["runtime_onnxruntime"]) == {"1.20.1"} and set(rows["runtime_env"]) == {"torch-2.13.0-ort1.20.1"}
    assert "onnxruntime 1.20.1:" in done.stdout
