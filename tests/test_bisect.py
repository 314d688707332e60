"""bisect: the search over releases as a pure function (fake oracle), the index, bad input, and one real bisect over
lineup environments already built (a fake index whose one release between is itself a lineup entry)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from matrix.commands import main
from matrix.run.bisect import between, index_releases, judge, search

REPO = Path(__file__).resolve().parent.parent
RELEASES = ["2.6.0", "2.7.0", "2.7.1", "2.8.0", "2.9.0", "2.9.1"]
CELL = "inplace_slice/default/torchscript/opset11/dynamic_axes=True/reference/onnx.reference"


def oracle(table: dict[str, str], asked: list[str]):
    def ask(release: str) -> str:
        asked.append(release)
        return table[release]
    return ask


def test_search_finds_the_neighbours_in_log_steps():
    asked: list[str] = []
    table = {"2.7.0": "good", "2.7.1": "good", "2.8.0": "bad", "2.9.0": "bad"}
    found = search(RELEASES, oracle(table, asked))
    assert (found.good, found.bad, found.untested) == ("2.7.1", "2.8.0", [])
    assert len(asked) <= 3 and len(set(asked)) == len(asked)  # never the ends, never twice


def test_search_goes_around_a_skip_and_says_what_it_could_not_test():
    asked: list[str] = []
    table = {"2.7.0": "good", "2.7.1": "skip", "2.8.0": "bad", "2.9.0": "bad"}
    found = search(RELEASES, oracle(table, asked))
    assert (found.good, found.bad, found.untested) == ("2.7.0", "2.8.0", ["2.7.1"])
    assert found.outcomes["2.7.1"] == "skip"
    every_skip = search(RELEASES, oracle(dict.fromkeys(RELEASES[1:-1], "skip"), []))
    assert (every_skip.good, every_skip.bad, every_skip.untested) == ("2.6.0", "2.9.1", RELEASES[1:-1])


def test_other_counts_as_changed_and_is_reported():
    table = {"2.7.0": "good", "2.7.1": "other", "2.8.0": "bad", "2.9.0": "bad"}
    found = search(RELEASES, oracle(table, []))
    assert (found.good, found.bad) == ("2.7.0", "2.7.1") and found.outcomes["2.7.1"] == "other"


def test_between_orders_from_the_good_end_so_a_fix_searches_alike():
    assert between(RELEASES, "2.6.0", "2.9.1") == ["2.7.0", "2.7.1", "2.8.0", "2.9.0"]
    assert between(RELEASES, "2.9.1", "2.6.0") == ["2.9.0", "2.8.0", "2.7.1", "2.7.0"]
    assert between(["2.10.0", "2.9.0", "2.11.0"], "2.9.0", "2.11.0") == ["2.10.0"]  # versions, not strings


def test_judge_compares_status_and_error_signature():
    good = {"status": "pass", "error": None}
    bad = {"status": "export-fail", "error": "Exporting the operator 'aten::append' to ONNX opset version 9"}
    assert judge({"status": "pass"}, good, bad) == "good"
    assert judge({"status": "export-fail", "error": bad["error"]}, good, bad) == "bad"
    assert judge({"status": "export-fail", "error": "tuple index out of range"}, good, bad) == "other"
    assert judge(None, good, bad) == "other"


def fake_index(path: Path, versions: dict[str, bool]) -> Path:
    """PyPI's JSON form: each release with one file, yanked or not."""
    path.write_text(json.dumps({"releases": {v: [{"yanked": y}] for v, y in versions.items()} | {"2.5.9": []}}))
    return path


def test_index_leaves_out_yanked_empty_and_pre_releases(tmp_path):
    index = fake_index(tmp_path / "index.json", {"2.6.0": False, "2.7.0": True, "2.8.0rc1": False, "2.8.0": False})
    assert index_releases(index, pre=False) == ["2.6.0", "2.8.0"]
    assert index_releases(index, pre=True) == ["2.6.0", "2.8.0rc1", "2.8.0"]


def _bisect(tmp_path, capsys, *args: str) -> tuple[int, str]:
    code = main(["bisect", *args, "--from", str(REPO / "results"), "--out", str(tmp_path / "state"),
                 "--envs-dir", str(tmp_path / "envs")])
    err = capsys.readouterr().err
    assert not (tmp_path / "state").exists() and not (tmp_path / "envs").exists()  # nothing left behind
    return code, err


@pytest.mark.parametrize("args, says", [
    (["no/such/cell", "--good", "torch-2.0.1", "--bad", "torch-2.4.1"], "no row of cell 'no/such/cell'"),
    ([CELL, "--good", "torch-2.1.2", "--bad", "torch-2.4.1"], "nothing to bisect"),
    ([CELL, "--torch", "2.0.1..9.9.9"], "--torch 9.9.9: no such release on the index"),
    # on the index but not on PyPI: the end outside the lineup cannot resolve (uv says so), named before any build
    ([CELL, "--torch", "2.0.1..2.3.9"], "--torch 2.3.9: no lineup entry has it, and it cannot be built: with "
                                        "torch-2.3.1's requires"),
    ([CELL, "--good", "torch-2.4.1", "--bad", "torch-9"], "no lineup entry 'torch-9'"),
    ([CELL, "--good", "torch-2.1.2", "--bad", "torch-2.0.1"], "no torch release between 2.1.2"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, args, says):
    releases = dict.fromkeys(["2.0.1", "2.1.2", "2.2.0", "2.3.9", "2.4.1"], False)
    monkeypatch.setenv("MATRIX_TORCH_INDEX", str(fake_index(tmp_path / "i.json", releases)))
    code, err = _bisect(tmp_path, capsys, *args)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_a_release_missing_from_the_index_is_named(tmp_path, capsys):
    index = fake_index(tmp_path / "i.json", {"2.1.2": False, "2.4.1": False})
    code, err = _bisect(tmp_path, capsys, CELL, "--good", "torch-2.4.1", "--bad", "torch-2.0.1", "--index-file",
                        str(index))
    assert code == 2 and "torch 2.0.1 (torch-2.0.1): no such release on the index" in err


@pytest.mark.slow
def test_real_bisect_over_built_lineup_environments(tmp_path):
    """torch 2.0.1's TorchScript file of inplace_slice fails onnx's reference evaluator, 2.4.1's runs: with 2.1.2
    the one release between, it runs in the lineup's own built environment (nothing built) and places the fix."""
    from matrix.envs.build import built_entries
    from matrix.envs.lineup import load_lineup
    if {"torch-2.0.1", "torch-2.1.2", "torch-2.4.1"} - {e.id for e in built_entries(load_lineup())}:
        pytest.skip("torch-2.0.1, 2.1.2 and 2.4.1 are not all built in .envs")
    index = fake_index(tmp_path / "i.json", {"2.0.1": False, "2.1.2": False, "2.4.1": False})
    command = [sys.executable, "-m", "matrix", "bisect", CELL, "--good", "torch-2.4.1", "--bad", "torch-2.0.1",
               "--index-file", str(index), "--from", str(REPO / "results"), "--out", str(tmp_path / "state"),
               "--envs-dir", str(tmp_path / "envs")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    first = done.stdout.splitlines()[0]
    assert first == f"{CELL}: fixed in torch 2.1.2, between 2.1.2 and 2.0.1", done.stdout
    assert "releases/tag/v2.1.2" in done.stdout and "[good]: pass" in done.stdout
    state = json.loads((tmp_path / "state" / "state.json").read_text())
    assert state["probes"]["2.1.2"]["row"]["status"] == "pass" and not (tmp_path / "envs").exists()
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "reused from" in again.stderr and again.stdout.splitlines()[0] == first


def _state(tmp_path: Path) -> Path:
    """A finished state as `bisect` writes it: a fix between two built releases, one release skipped."""
    from matrix.run.bisect import Bisect
    ends = {"good": {"env_id": "torch-2.9.1", "release": "2.9.1", "status": "pass", "error": None},
            "bad": {"env_id": "torch-2.6.0", "release": "2.6.0", "status": "batch-fail", "error": "Got invalid dims"}}
    state = Bisect(tmp_path, CELL, ends, ["--cases", "^x/y$"], ["torch-2.9.1", "torch-2.6.0"])
    state.probes = {"2.8.0": {"outcome": "good", "row": {"status": "pass"}, "base": "built: 2.9.1's requires"},
                    "2.7.1": {"outcome": "bad", "row": {"status": "batch-fail", "error": "Got invalid dims\nmore"}},
                    "2.7.0": {"outcome": "skip", "reason": "no wheel for Python 3.13"}}
    state.save(answer={"good": "2.8.0", "bad": "2.7.1", "outcomes": {"2.8.0": "good", "2.7.1": "bad"}, "untested": []},
               cost={"wall_s": 1.0, "peak_gb": 0.5, "peak_drop_gb": 0.1})
    return tmp_path


def test_the_answer_comes_first_and_bug_reads_it(tmp_path):
    from matrix.views.bisect import answer_lines, bug_line, read_state
    state = read_state(_state(tmp_path), CELL)
    lines = answer_lines(state)
    assert lines[0] == f"{CELL}: fixed in torch 2.8.0, between 2.8.0 and 2.7.1"
    assert lines[1].startswith("  torch 2.8.0 [good]: pass") and "batch-fail: Got invalid dims   (" in lines[2]
    assert "releases/tag/v2.7.1" in lines[3] and "releases/tag/v2.8.0" in lines[3]
    assert any("skipped torch 2.7.0: no wheel for Python 3.13" in line for line in lines)
    assert "[v2.8.0](https://github.com/pytorch/pytorch/releases/tag/v2.8.0)" in bug_line(state)
    assert read_state(tmp_path, "another/cell") is None and bug_line(None).startswith("Bisect: not run")


def test_a_second_run_reuses_rows_only_for_the_same_question(tmp_path):
    from matrix.run.bisect import Bisect
    folder = _state(tmp_path)
    saved = json.loads((folder / "state.json").read_text())
    same = Bisect(folder, CELL, saved["ends"], [], saved["bases"])
    assert set(same.probes) == {"2.8.0", "2.7.1", "2.7.0"}
    assert Bisect(folder, CELL, saved["ends"], [], ["torch-2.6.0", "torch-2.9.1"]).probes == {}  # other requires


def test_an_other_neighbour_is_followed_to_where_its_outcome_began(tmp_path):
    """2.6.0 batch-fail, 2.7.0 and 2.7.1 diverge, 2.8.0 on pass (what torch-2.9.1's requires give view_bakes_batch's
    dynamo export): the fix is placed at 2.8.0 and the first change, batch-fail to diverge, at 2.7.0."""
    from matrix.run.bisect import Bisect, follow_other
    rows = {"2.6.0": {"status": "batch-fail", "error": "Got invalid dimensions"},
            "2.7.0": {"status": "diverge", "error": "output 0 has shape (2, 18)"}}
    rows |= {"2.7.1": rows["2.7.0"], "2.8.0": {"status": "pass"}, "2.9.0": {"status": "pass"}, "2.9.1": {"status": "pass"}}
    state = Bisect(tmp_path, CELL, {"good": rows["2.9.1"], "bad": rows["2.6.0"]}, [], [])
    asked: list[str] = []

    def ask(release: str) -> str:
        if release not in state.probes:
            asked.append(release)
            state.probes[release] = {"row": rows[release], "outcome": judge(rows[release], rows["2.9.1"], rows["2.6.0"])}
        return state.probes[release]["outcome"]
    releases = RELEASES[::-1]
    found = search(releases, ask)
    assert (found.good, found.bad, found.outcomes[found.bad]) == ("2.8.0", "2.7.1", "other")
    then = follow_other(state, found, releases, ask)
    assert (then.good, then.bad) == ("2.7.0", "2.6.0") and len(asked) == len(set(asked))
    assert follow_other(state, search(RELEASES, oracle(dict.fromkeys(RELEASES, "good"), [])), RELEASES, ask) is None


def _entry(torch: str, python: str = "3.11"):
    from matrix.envs.lineup import Entry
    requires = (f"torch=={torch}", "onnx==1.17.0")
    return Entry(id=f"torch-{torch}", python=python, pins=requires, requires=requires)


def test_an_end_outside_the_lineup_takes_its_neighbours_requires_with_torch_replaced():
    from matrix.run.bisect_ends import end_entry, is_built, neighbours
    lineup = [_entry("2.1.2"), _entry("2.4.1"), _entry("2.6.0")]
    assert [e.id for e in neighbours("2.2.0", lineup, newer_first=False)] == ["torch-2.1.2", "torch-2.4.1"]
    assert [e.id for e in neighbours("2.2.0", lineup, newer_first=True)] == ["torch-2.4.1", "torch-2.1.2"]
    assert [e.id for e in neighbours("9.0.0", lineup, newer_first=False)] == ["torch-2.6.0"]  # past the newest
    asked = []

    def resolve(entry):
        asked.append(entry.requires)
        return [*entry.requires, "numpy==2.0.0"]
    built = end_entry("2.2.0", lineup, False, resolve)
    assert is_built(built) and built.id == "bisect-torch-2.2.0" and built.torch == "2.2.0"
    assert asked == [("torch==2.2.0", "onnx==1.17.0")] and "numpy==2.0.0" in built.pins
    assert end_entry("2.4.1", lineup, False, resolve) is lineup[1] and len(asked) == 1  # a lineup end: nothing resolved


def test_an_end_that_cannot_resolve_is_named_with_every_reason():
    from matrix.run.bisect import BisectError
    from matrix.run.bisect_ends import end_entry

    def refuse(entry):
        raise RuntimeError(f"{entry.id}: cannot resolve\n  no version of {entry.requires[0]}")
    with pytest.raises(BisectError) as caught:
        end_entry("2.3.9", [_entry("2.1.2"), _entry("2.4.1")], False, refuse)
    message = str(caught.value)
    assert message.startswith("--torch 2.3.9: no lineup entry has it, and it cannot be built: with torch-2.1.2's")
    assert "with torch-2.4.1's requires: no version of torch==2.3.9" in message and "\n" not in message


def test_the_answer_says_an_end_was_built_here():
    from matrix.views.bisect import answer_lines
    state = {"cell": CELL, "ends": {"good": {"env_id": "bisect-torch-1.6.0", "release": "1.6.0", "status": "pass"},
                                    "bad": {"env_id": "torch-1.8.1", "release": "1.8.1", "status": "diverge"}},
             "probes": {"1.7.0": {"outcome": "bad", "row": {"status": "diverge"}, "base": "built"}},
             "answer": {"good": "1.6.0", "bad": "1.7.0", "outcomes": {"1.6.0": "good", "1.7.0": "bad"}, "untested": []}}
    lines = answer_lines(state)
    assert lines[0] == f"{CELL}: broke in torch 1.7.0, between 1.6.0 and 1.7.0"
    assert "(no lineup entry: built and run here as bisect-torch-1.6.0)" in lines[1]
    assert not any("one side is the lineup entry itself" in line for line in lines)
