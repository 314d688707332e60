"""The lineup file: the real one loads; every malformed value is named before anything is built."""
from __future__ import annotations

import pytest

from matrix.envs.lineup import LineupError, find_entry, load_lineup


def test_real_lineup_has_the_seed_era_and_the_newest_local():
    entries = load_lineup()
    old = find_entry(entries, "torch-1.4.0")
    assert old.python in ("3.7", "3.8") and old.torch == "1.4.0" and "caffe2" in old.tags
    assert find_entry(entries, "torch-2.13.0").pin("onnxscript")


def write(tmp_path, body: str):
    path = tmp_path / "lineup.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("body, needle", [
    ('[[env]]\nid = "a"\npython = "3.11"\npins = ["torch>=2"]\n', "'torch>=2' is not of the form"),
    ('[[env]]\nid = "a"\npython = "three"\npins = ["torch==2.0.1"]\n', "python 'three'"),
    ('[[env]]\nid = "a"\npython = "3.11"\npins = ["onnx==1.14.0"]\n', "must include torch"),
    ('[[env]]\nid = "a"\npython = "3.11"\npins = ["torch==1.0", "torch==2.0"]\n', "pinned more than once"),
    ('[[env]]\nid = "a"\npython = "3.11"\npins = ["torch==2.0.1"]\ncolour = 1\n', "unknown key(s) colour"),
    ('[[env]]\nid = "a"\npython = "3.11"\npins = ["torch==2.0.1"]\n' * 2, "appear more than once"),
    ('[[env]\n', "not valid TOML"),
])
def test_malformed_lineup_is_named(tmp_path, body, needle):
    path = write(tmp_path, body)
    with pytest.raises(LineupError) as info:
        load_lineup(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_unknown_entry_lists_the_known_ones():
    with pytest.raises(LineupError, match="torch-1.4.0"):
        find_entry(load_lineup(), "torch-0.1")


def test_the_lock_writer_round_trips(tmp_path):
    from matrix.envs.lock import render_lineup
    entries = load_lineup()
    path = tmp_path / "lineup.toml"
    path.write_text(render_lineup(entries))
    assert load_lineup(path) == entries
