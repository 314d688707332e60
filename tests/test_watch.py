"""``watch``: against a fake package index (a folder of PyPI-form JSON, or a stdlib HTTP server that is slow or
gone), the planted newer releases are listed with what watch does; yanked, pre-release and wheel-less ones are
ignored with their reason; a bad index or an entry that cannot resolve leaves the lineup byte for byte as it was;
and end to end, a lineup entry removed from the lineup is discovered again, written, run and diffed."""
from __future__ import annotations

import dataclasses
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO

from matrix.commands import main
from matrix.envs.index import IndexUnavailable, project_json, releases_of
from matrix.envs.lineup import LineupError, load_lineup
from matrix.envs.lock import render_lineup
from matrix.run.watch import add_entry, newest_entry, plan, write_lineup

LINEUP = REPO / "matrix" / "envs" / "lineup.toml"


def wheel(version: str, tag: str = "cp313-cp313-manylinux_2_28_x86_64", **extra) -> dict:
    return {"filename": f"pkg-{version}-{tag}.whl", "yanked": False, **extra}


def fake_index(folder: Path, projects: dict[str, dict[str, list[dict]]]) -> Path:
    """A folder answering ``<name>/json`` as PyPI does."""
    for name, releases in projects.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "json").write_text(json.dumps({"info": {"name": name}, "releases": releases}))
    return folder


def planted(folder: Path) -> Path:
    """Newer than torch-2.15.0's pins: a torch release to add, one yanked, a pre-release, one without wheels for any
    lineup Python, one with wheels only for an older lineup Python; a newer onnxruntime; onnx and onnxscript as they
    are pinned (onnxscript's newer one is an sdist only)."""
    return fake_index(folder, {
        "torch": {"2.15.0": [wheel("2.15.0")], "2.16.0": [wheel("2.16.0")],
                  "2.16.1": [{**wheel("2.16.1"), "yanked": True, "yanked_reason": "broken"}],
                  "2.16.2": [wheel("2.16.2", "cp314-cp314-manylinux_2_28_x86_64")],
                  "2.16.3": [wheel("2.16.3", "cp312-cp312-manylinux_2_28_x86_64")],
                  "2.17.0rc1": [wheel("2.17.0rc1")], "2.14.0": [wheel("2.14.0")]},
        "onnxruntime": {"1.32.0": [wheel("1.32.0")], "1.33.0": [wheel("1.33.0")]},
        "onnx": {"1.23.2": [wheel("1.23.2")]},
        "onnxscript": {"0.7.2": [wheel("0.7.2", "py3-none-any")],
                       "0.7.3": [{"filename": "onnxscript-0.7.3.tar.gz", "yanked": False}]},
    })


def _watch(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["watch", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _line(out: str, package: str, version: str) -> str:
    found = [line for line in out.splitlines() if line.split()[:1] == [package] and version in line.split()[2:3]]
    assert len(found) == 1, out
    return found[0]


def test_dry_run_lists_the_planted_releases_and_what_watch_would_do(tmp_path, capsys):
    lineup = tmp_path / "lineup.toml"
    lineup.write_bytes(LINEUP.read_bytes())
    code, out, _ = _watch(capsys, "--dry-run", "--index", str(planted(tmp_path / "index")), "--lineup", str(lineup))
    assert code == 0 and lineup.read_bytes() == LINEUP.read_bytes()
    assert "add torch-2.16.0 (torch-2.15.0's requires, torch 2.16.0" in _line(out, "torch", "2.16.0")
    assert _line(out, "torch", "2.16.1").endswith("ignored: yanked")
    assert _line(out, "torch", "2.17.0rc1").endswith("ignored: a pre-release (--pre to include)")
    assert "nothing: no wheel for any lineup Python (3.7, 3.8, 3.9, 3.10, 3.11, 3.12, 3.13)" in _line(out, "torch", "2.16.2")
    assert "no wheel for Python 3.13 (the newest entry's); wheels for 3.12" in _line(out, "torch", "2.16.3")
    assert "2.14.0" not in out  # older than the pin: not listed
    assert "none of its own: torch-2.16.0 resolves its era's onnxruntime" in _line(out, "onnxruntime", "1.33.0")
    assert "nothing: up to date" in [line for line in out.splitlines() if line.startswith("onnx ")][0]
    assert "nothing: no wheel for any lineup Python" in _line(out, "onnxscript", "0.7.3")
    code, out, _ = _watch(capsys, "--dry-run", "--pre", "--index", str(tmp_path / "index"), "--lineup", str(lineup))
    assert code == 0 and _line(out, "torch", "2.17.0rc1").split("  ")[-1].startswith("add torch-2.17.0rc1")


def test_the_same_index_served_over_http(tmp_path, capsys):
    index = planted(tmp_path / "index")
    with _server(index) as base:
        code, out, _ = _watch(capsys, "--dry-run", "--index", base, "--lineup", str(LINEUP))
    assert code == 0 and "add torch-2.16.0" in _line(out, "torch", "2.16.0")


class _Slow(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the stdlib's name)
        time.sleep(3)
        super().do_GET()

    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the slow answer's client has gone (it timed out): the pipe it finds broken is the point


class _server:
    """A stdlib HTTP server over ``folder`` on a free port (``slow``: each answer 3 s late)."""

    def __init__(self, folder: Path, slow: bool = False) -> None:
        handler = _Slow if slow else type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                                          {"log_message": lambda *a: None})
        self.httpd = _Server(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(folder)))

    def __enter__(self) -> str:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_slow_or_unreachable_index_is_one_message_exit_2_and_the_lineup_untouched(tmp_path, capsys):
    lineup = tmp_path / "lineup.toml"
    lineup.write_bytes(LINEUP.read_bytes())
    index = planted(tmp_path / "index")
    with _server(index, slow=True) as base:
        started = time.monotonic()
        code, out, err = _watch(capsys, "--index", base, "--index-timeout", "0.5", "--lineup", str(lineup))
    assert code == 2 and time.monotonic() - started < 10
    assert "the index did not answer within 0.5 s; the lineup is untouched" in err and "Traceback" not in err
    code, _, err = _watch(capsys, "--index", f"http://127.0.0.1:{_closed_port()}", "--lineup", str(lineup))
    assert code == 2 and "cannot reach the index" in err and "Connection refused" in err
    code, _, err = _watch(capsys, "--index", str(tmp_path / "nowhere"), "--lineup", str(lineup))
    assert code == 2 and "nowhere/torch/json: cannot reach the index" in err
    (tmp_path / "bad" / "torch").mkdir(parents=True)
    (tmp_path / "bad" / "torch" / "json").write_text("<html>not json</html>")
    code, _, err = _watch(capsys, "--index", str(tmp_path / "bad"), "--lineup", str(lineup))
    assert code == 2 and "not JSON in PyPI's form" in err
    assert lineup.read_bytes() == LINEUP.read_bytes() and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad", "index", "lineup.toml"]


def test_wheels_are_judged_per_python_and_by_requires_python(tmp_path):
    index = fake_index(tmp_path, {"x": {
        "1.0": [wheel("1.0", "py3-none-any", requires_python=">=3.14")],
        "1.1": [wheel("1.1", "cp311-abi3-manylinux2014_x86_64")],
        "1.2": [wheel("1.2", "cp313-cp313-macosx_11_0_arm64"), {"filename": "x-1.2.tar.gz"}],
        "1.3": [wheel("1.3", "cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64")], "1.4": []}})
    got = {r.version: (r.wheel_for("3.11"), r.wheel_for("3.13")) for r in releases_of(project_json("x", str(index)), "x")}
    assert got == {"1.0": (False, False), "1.1": (True, True), "1.2": (False, False), "1.3": (False, True)}
    with pytest.raises(IndexUnavailable, match="answered HTTP 404"):
        with _server(index) as base:
            project_json("missing", base)


def test_companion_releases_get_an_entry_only_without_a_new_torch_and_only_the_newest():
    newest = newest_entry(load_lineup())
    from matrix.run.watch import Finding
    found = plan([Finding("onnxruntime", "1.32.0", "1.32.1"), Finding("onnxruntime", "1.32.0", "1.33.0"),
                  Finding("onnx", "1.23.2", "1.24.0"), Finding("onnx", "1.23.2", "1.25.0", "yanked")], newest)
    assert [f.action for f in found] == ["none of its own: onnxruntime 1.33.0 is newer",
                                         "add torch-2.15.0-ort-1.33.0", "add torch-2.15.0-onnx-1.24.0", "ignored"]


def test_the_lineup_is_written_whole_or_not_at_all(tmp_path):
    lineup = tmp_path / "lineup.toml"
    lineup.write_bytes(LINEUP.read_bytes())
    entries = load_lineup(lineup)
    broken = dataclasses.replace(entries[-1], id="torch-9.9.9", note='a "quote" TOML cannot take as it is rendered')
    with pytest.raises(LineupError, match=r"\.lineup\.toml\.\d+\.tmp: not valid TOML"):
        write_lineup(lineup, [*entries, broken])
    assert lineup.read_bytes() == LINEUP.read_bytes() and [p.name for p in tmp_path.iterdir()] == ["lineup.toml"]
    added = add_entry(lineup, dataclasses.replace(entries[-1], id="torch-9.9.9", tags=("dynamo", "latest")))
    assert [e.id for e in added][-2:] == ["torch-2.15.0", "torch-9.9.9"]
    assert [e.tags for e in load_lineup(lineup)][-2:] == [("dynamo",), ("dynamo", "latest")]  # the tag moved
    with pytest.raises(LineupError, match="exists already"):
        add_entry(lineup, added[-1])


def _without(*ids: str) -> str:
    return render_lineup([e for e in load_lineup() if e.id not in ids])


@pytest.mark.slow  # uv asks PyPI
def test_a_release_that_cannot_resolve_is_not_written_and_says_why(tmp_path, capsys):
    lineup = tmp_path / "lineup.toml"
    lineup.write_bytes(LINEUP.read_bytes())
    index = fake_index(tmp_path / "index", {"torch": {"2.99.0": [wheel("2.99.0")]}, "onnxruntime": {}, "onnx": {},
                                            "onnxscript": {}})
    code, out, err = _watch(capsys, "--index", str(index), "--lineup", str(lineup), "--out", str(tmp_path / "out"))
    assert code == 0 and "add torch-2.99.0" in out
    assert "watch: not written: torch-2.99.0 cannot resolve: with onnx, onnxruntime, onnxscript" in err
    assert "the rest held" in err and "torch==2.99.0" in err
    assert lineup.read_bytes() == LINEUP.read_bytes() and not (tmp_path / "out").exists()


@pytest.mark.slow  # builds torch 2.15.0's environment (from uv's cache where it has the wheels) and runs cases
def test_an_entry_removed_from_the_lineup_is_discovered_written_run_and_diffed(tmp_path):
    """Every entry after torch-2.9.1 left out (the anchors 2.13.0 and 2.15.0, the minors between): the newest is
    torch-2.9.1 (Python 3.13), and the index has 2.15.0."""
    lineup = tmp_path / "lineup.toml"
    lineup.write_text(_without("torch-2.10.0", "torch-2.11.0", "torch-2.12.1", "torch-2.13.0", "torch-2.14.1",
                               "torch-2.15.0"), encoding="utf-8")
    index = fake_index(tmp_path / "index", {
        "torch": {"2.9.1": [wheel("2.9.1")], "2.15.0": [wheel("2.15.0")]},
        "onnxruntime": {"1.23.2": [wheel("1.23.2")], "1.32.0": [wheel("1.32.0")]},
        "onnx": {"1.19.1": [wheel("1.19.1")]}, "onnxscript": {"0.5.6": [wheel("0.5.6", "py3-none-any")]}})
    out = tmp_path / "out"
    env = {**os.environ, "MATRIX_ENVS_DIR": str(tmp_path / "envs")}
    done = subprocess.run([sys.executable, "-m", "matrix", "watch", "--index", str(index), "--lineup", str(lineup),
                           "--out", str(out), "--cases", "^(interpolate|list_variable_length)/(default|traced)$"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "none of its own: torch-2.15.0 resolves its era's onnxruntime" in done.stdout
    entry = load_lineup(lineup)[-1]
    assert entry.id == "torch-2.15.0" and entry.python == "3.13" and entry.tags == ("dynamo",)  # torch-2.9.1's
    assert entry.pin("torch") == "2.15.0" and "torch==2.15.0" in entry.requires and entry.pin("onnxscript")
    assert "onnxruntime==1.23.2" not in entry.requires  # the era's onnxruntime, not torch-2.9.1's
    assert "openvino==2026.4.1" in entry.requires and entry.note.startswith("Added by matrix watch on ")
    rows = [json.loads(line) for path in (out / "runs").glob("*/torch-2.15.0.jsonl") for line in path.open()]
    assert rows and {r["torch"].split("+")[0] for r in rows} == {"2.15.0"}
    assert {r["case"] for r in rows} == {"interpolate", "list_variable_length"}
    diff = (out / "watch" / "torch-2.15.0.md").read_text()
    assert diff.startswith("# torch-2.15.0 against torch-2.9.1\n") and "torch 2.9.1 → 2.15.0" in diff
    assert "## Fixed: " in diff and "### torchscript · reference evaluator" in diff
    assert "`interpolate/default` opset 11 (dynamic_axes=True): run-fail → **pass**" in diff
    assert "python -m matrix repro interpolate/default/torchscript/opset11/dynamic_axes=True/reference/onnx.reference " \
           "--env torch-2.9.1 --out results" in diff
    assert "## Fails differently: " in diff and "`list_variable_length/traced`" in diff
    assert f"--env torch-2.15.0 --out {out}" in diff


def test_a_companion_pinned_only_as_a_dependency_is_required_at_its_new_version():
    from matrix.run.watch import _bumped, resolved_entry
    base = newest_entry(load_lineup())
    base = dataclasses.replace(base, requires=tuple(r for r in base.requires if not r.startswith("onnxscript")))
    assert _bumped(base, "onnxscript", "0.8.0", ())[-1] == "onnxscript==0.8.0"
    asked = []
    entry, reason = resolved_entry(base, "onnxscript", "0.8.0", lambda e: asked.append(e.requires) or list(e.pins),
                                   load_lineup())
    assert not reason and entry.id == "torch-2.15.0-onnxscript-0.8.0" and "onnxscript==0.8.0" in entry.requires
    assert asked == [entry.requires] and "latest" not in entry.tags and entry.gpu_runtime == ""


def test_a_new_release_is_no_gap_filler_and_runs_the_op_corpus():
    """A torch release found after a gap filler (tag minor) takes its era tags, not 'minor'."""
    from matrix.envs.lineup import Entry
    from matrix.run.watch import resolved_entry
    base = Entry(id="torch-2.14.1", python="3.13", pins=("torch==2.14.1",), requires=("torch==2.14.1",),
                 tags=("dynamo", "minor"))
    entry, why = resolved_entry(base, "torch", "2.15.0", lambda probe: list(probe.requires), [base])
    assert why == "" and entry.tags == ("dynamo",) and entry.runs_op_corpus
    companion, _ = resolved_entry(base, "onnxruntime", "1.99.0", lambda probe: list(probe.requires), [base])
    assert companion.tags == ("dynamo",)
