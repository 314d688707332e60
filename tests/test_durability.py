"""Rows are durable or the run fails loudly; names and numbers are checked where they enter; the report
never destroys the last good one. Disk faults are real: /dev/full answers every write with ENOSPC, a
file-size limit makes a short write, a read-only mount in a private namespace refuses with EROFS."""
from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FAKE_CASES, REPO
from test_report import seed_results

from matrix.results.rows import append_row, read_rows
from matrix.results.store import RunDir, StorageError, claim_run, list_runs, write_json
from matrix.views.report import render_report
from matrix.wire import Row


def a_row(n: int, **extra) -> dict:
    return Row(env_id="e", cell=f"c{n}", case="case", variant="default", exporter="torchscript",
               runtime="onnxruntime", status="pass", **extra).to_dict()


def matrix(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matrix", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})}, **kwargs)


def one_clear_line(done: subprocess.CompletedProcess, needle: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and needle in errors[0], done.stderr[-2000:]


# -- rows: whole or not at all --------------------------------------------------------------------

def _append_under_a_size_limit(path: str, limit: int, queue) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    try:
        append_row(Path(path), a_row(2, error="x" * 4000))
        queue.put("written")
    except StorageError as exc:
        queue.put(f"refused: {exc}")


def test_a_short_write_is_undone_and_said(tmp_path):
    """The kernel takes the first bytes of the row, then refuses: the file keeps whole rows only."""
    path = tmp_path / "e.jsonl"
    append_row(path, a_row(1))
    before = path.read_bytes()
    queue = multiprocessing.Queue()
    writer = multiprocessing.Process(target=_append_under_a_size_limit, args=(str(path), len(before) + 100, queue))
    writer.start()
    writer.join()
    outcome = queue.get(timeout=10)
    assert outcome.startswith("refused: ") and str(path) in outcome and "File too large" in outcome
    assert path.read_bytes() == before
    rows, problems = read_rows(path)
    assert [r["cell"] for r in rows] == ["c1"] and problems == []


def test_a_full_disk_refuses_the_row_and_names_the_file(tmp_path):
    path = tmp_path / "e.jsonl"
    path.symlink_to("/dev/full")
    with pytest.raises(StorageError, match=r"e.jsonl: a row could not be written \(No space left on device\)"):
        append_row(path, a_row(1))


FAST = ["--exporters", "torchscript", "--opsets", "11", "--runtimes", "ort-cpu,reference", "--time-budget", "0.02",
        "--no-report", "--cases", "passes"]


def test_a_full_disk_stops_the_run_and_the_same_command_completes_it_later(worker_python, tmp_path):
    out = tmp_path / "out"
    run = RunDir(out, "r1")
    run.path.mkdir(parents=True)
    run.rows_file("fake").symlink_to("/dev/full")  # the disk is full when the first row is appended
    args = ["run", "--python", worker_python, "--env-id", "fake", "--out", str(out), "--cases-dir", str(FAKE_CASES),
            "--run-id", "r1", *FAST]
    full = matrix(*args)
    one_clear_line(full, "fake.jsonl: a row could not be written (No space left on device)")
    assert run.env_state("fake").get("status") == "running", "never complete with fewer rows than cells"
    run.rows_file("fake").unlink()  # space again
    again = matrix(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    rows, problems = read_rows(run.rows_file("fake"))
    assert problems == [] and len(rows) == len({r["cell"] for r in rows}) == 2
    assert run.env_state("fake")["status"] == "complete"


def test_a_full_disk_while_exporting_is_not_the_cases_failure(worker_python, tmp_path):
    out = tmp_path / "out"
    run = RunDir(out, "r1")
    exports = run.exports_dir("fake")
    exports.mkdir(parents=True)
    from matrix.wire import Cell, case_hash
    cell = Cell("passes", "default", "torchscript", 11, "onnxruntime", "CPUExecutionProvider", {"dynamic_axes": True})
    (exports / (cell.export_stem(case_hash(str(FAKE_CASES / "passes.py"))) + ".onnx")).symlink_to("/dev/full")
    done = matrix("run", "--python", worker_python, "--env-id", "fake", "--out", str(out), "--cases-dir",
                  str(FAKE_CASES), "--run-id", "r1", *FAST)
    one_clear_line(done, "No space left on device")
    assert "the worker could not write" in done.stderr
    rows, _ = read_rows(run.rows_file("fake")) if run.rows_file("fake").exists() else ([], [])
    assert not [r for r in rows if r["status"] == "export-fail"], "the disk's failure was blamed on the case"


def test_out_that_is_a_file_is_one_line_and_leaves_nothing(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    done = matrix("run", "--python", sys.executable, "--out", str(target), "--cases-dir", str(FAKE_CASES))
    one_clear_line(done, f"--out {target}: is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _namespaces() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _namespaces(), reason="needs `unshare -rm` (user and mount namespaces) for a read-only mount")
def test_a_read_only_out_is_one_line_and_leaves_nothing(tmp_path):
    (tmp_path / "ro").mkdir()
    script = (f"mount --bind {tmp_path / 'ro'} {tmp_path / 'ro'} && mount -o remount,bind,ro {tmp_path / 'ro'} && "
              f"{sys.executable} -m matrix run --python {sys.executable} --out {tmp_path / 'ro' / 'out'} "
              f"--cases-dir {FAKE_CASES}")
    done = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    one_clear_line(done, "Read-only file system")
    assert not list((tmp_path / "ro").iterdir())


# -- names and numbers where they enter ------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--run-id", "../../escape"], "--run-id '../../escape' is not a safe name"),
    (["--run-id", "a/b"], "--run-id 'a/b' is not a safe name"),
    (["--env-id", "../../escape"], "--env-id '../../escape' is not a safe name"),
    (["--timeout", "nan"], "'nan' must be a finite number above 0"),
    (["--timeout", "inf"], "'inf' must be a finite number above 0"),
    (["--time-budget", "-1"], "'-1' must be a finite number above 0"),
])
def test_names_and_numbers_are_checked_where_they_enter(tmp_path, args, needle):
    done = matrix("run", "--python", sys.executable, "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2 and needle in done.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escape").exists()


def test_newest_means_started_last_not_named_last(tmp_path):
    for run_id, created in (("zzz-old", "2026-01-01T00:00:00+00:00"), ("aaa-new", "2026-06-01T00:00:00+00:00")):
        run = RunDir(tmp_path, run_id)
        run.path.mkdir(parents=True)
        write_json(run.path / "run.json", {"run_id": run_id, "selection": {"cases": ".*"}, "created": created})
    assert [r.run_id for r in list_runs(tmp_path)] == ["zzz-old", "aaa-new"]
    with claim_run(tmp_path, "e", {"cases": ".*"}) as joined:  # the newest unfinished run of this selection
        assert joined.run_id == "aaa-new"


# -- the report ---------------------------------------------------------------------------------------

def test_any_text_renders_a_lone_surrogate_included(tmp_path):
    run = seed_results(tmp_path)
    append_row(run.rows_file("torch-x"), Row(run_id=run.run_id, env_id="torch-x", cell="c9", case="expand_minus_one",
                                             variant="default", exporter="dynamo", opset_requested=18,
                                             runtime="onnxruntime", provider="CPUExecutionProvider",
                                             status="run-fail", error="bad byte \udcff here", verdict="regression",
                                             finished_at="2026-01-01T00:00:09+00:00").to_dict())
    index, _ = render_report(tmp_path)
    assert "bad byte \\udcff here" in index.read_text(encoding="utf-8")


def test_a_failed_render_keeps_the_last_good_report(tmp_path, monkeypatch):
    seed_results(tmp_path)
    index, _ = render_report(tmp_path)
    good = index.read_text()
    import matrix.views.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("the renderer broke half-way")
    monkeypatch.setattr(report, "case_pages", broken)
    with pytest.raises(RuntimeError):
        render_report(tmp_path)
    assert index.read_text() == good
    assert not list(tmp_path.glob(".*.tmp")) and not list((tmp_path / "cases").glob(".*.tmp"))


@pytest.mark.parametrize("meta", [
    "a string", ["a", "list"], {"title": 5, "pitfall": None}, {"title": "t", "pitfall": "p", "links": "http://x"},
    {"title": "t", "pitfall": "p", "seed": 12}, {"title": "t", "pitfall": "p", "expect": [1, "two"]},
    {"title": "t", "pitfall": "p", "expect": [{"status": 7}]}, {"title": "t", "pitfall": "p", "naive": "x"},
    {"title": "t", "pitfall": "p", "links": ["javascript:alert(1)"], "atol": "tight"},
])
def test_case_metadata_of_any_shape_renders_or_is_named(tmp_path, meta):
    run = seed_results(tmp_path)
    catalogue = json.loads(run.catalogue_file("torch-x").read_text())
    catalogue["cases"][0]["meta"] = meta
    write_json(run.catalogue_file("torch-x"), catalogue)
    index, _ = render_report(tmp_path)
    page = (tmp_path / "cases" / "expand_minus_one.html").read_text()
    assert "expand_minus_one" in index.read_text()
    assert 'href="javascript:' not in page and 'href="javascript:' not in index.read_text()
    assert "metadata of the wrong shape" in page
