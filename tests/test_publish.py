"""Published results: publish with history, compare against the reference, release diffs, shards merged,
replay from results/, and the CI workflow that runs it all (checked by actionlint)."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from conftest import FAKE_CASES, REPO

from matrix.results.publish import publish, references
from matrix.results.read import Results
from matrix.results.store import list_runs, row_files
from matrix.views.diff import release_diff
from matrix.views.frames import current_view

FAST = ["--exporters", "torchscript", "--opsets", "11", "--runtimes", "ort-cpu,reference", "--time-budget", "0.02",
        "--no-report", "--verbose", "--cases", "passes|raises"]


def matrix(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matrix", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900)


def run_into(worker_python, out, env_id, *extra, cases=FAKE_CASES):
    done = matrix("run", "--python", worker_python, "--env-id", env_id, "--out", str(out), "--cases-dir", str(cases),
                  *FAST, *extra)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    return done


def test_the_workflow_passes_actionlint():
    done = subprocess.run(["actionlint", str(REPO / ".github" / "workflows" / "matrix.yml")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _workflow_step(name: str) -> str:
    """The shell script of the workflow's step ``name`` (its ``run: |`` block, dedented)."""
    lines = (REPO / ".github" / "workflows" / "matrix.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- name: {name}")
    at = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |") + 1
    block = []
    for line in lines[at:]:
        if line.strip() and not line.startswith(" " * 10):
            break
        block.append(line[10:])
    return "\n".join(block) + "\n"


def uploads_checked(tmp_path, step: str, variable: str, value: str, uploads: list[tuple[str, str]],
                    missing: str) -> None:
    """The merge job's step ``step`` (given ``variable``) fails naming ``missing`` until every upload (folder, rows
    file) holds rows, and passes once the last does: an absent shard is never green."""
    script = _workflow_step(step)
    env = {variable: value, "PATH": f"{pathlib.Path(sys.executable).parent}:/usr/bin:/bin"}
    for number, (folder, rows) in enumerate(uploads):
        (tmp_path / folder / "gha-1-1").mkdir(parents=True)
        (tmp_path / folder / "gha-1-1" / rows).write_text("{}\n")
        done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
        if number < len(uploads) - 1:
            assert done.returncode == 1 and f"::error::{missing}: its job uploaded no rows" in done.stdout, done
    assert done.returncode == 0, done


def test_the_merge_job_fails_when_an_environment_uploaded_nothing(tmp_path):
    entries = json.dumps([{"id": "torch-a", "session": "matrix(torch-a)"}, {"id": "torch-b", "session": "x"}])
    uploads_checked(tmp_path, "every environment uploaded its rows", "ENTRIES", entries,
                    [("shards/shard-torch-a", "torch-a.jsonl"), ("shards/shard-torch-b", "torch-b.jsonl")], "torch-b")
    assert (tmp_path / "envs.txt").read_text() == "torch-a,torch-b"


def test_two_shards_merged_give_the_rows_of_one_run(worker_python, tmp_path):
    for env_id in ("shard-a", "shard-b"):
        run_into(worker_python, tmp_path / env_id, env_id, "--run-id", "ci-1")
        run_into(worker_python, tmp_path / "one", env_id, "--run-id", "ci-1", "--fresh")
    done = matrix("merge", str(tmp_path / "shard-a"), str(tmp_path / "shard-b"), "--out", str(tmp_path / "merged"))
    assert done.returncode == 0, done.stderr
    strip = lambda frame: {(r["env_id"], r["cell"]): r["status"] for r in frame.to_dict("records")}
    merged, one = Results(tmp_path / "merged").rows(), Results(tmp_path / "one").rows()
    assert strip(merged) == strip(one) and len(merged) == 8
    assert [r.run_id for r in list_runs(tmp_path / "merged")] == ["ci-1"]


def test_publish_keeps_history_and_compare_finds_a_planted_regression(worker_python, tmp_path):
    reports, results = tmp_path / "reports", tmp_path / "results"
    run_into(worker_python, reports, "fake")
    publish(reports, results, ["fake"], {})
    first = list_runs(results)[0]
    assert (first.path / "fake.parquet").exists() and (first.path / "exports" / "fake.tar.gz").exists()
    assert not list(first.path.glob("*.jsonl*")), "one form of each rows file: Parquet"
    assert len(Results(results).rows()) == 4
    clean = matrix("compare", str(results), str(reports), "--junit", str(tmp_path / "j.xml"),
                   "--markdown", str(tmp_path / "m.md"))
    assert clean.returncode == 0 and "0 regression(s)" in clean.stdout, clean.stdout + clean.stderr
    # a later run in which a passing cell fails: planted by editing its row
    run_into(worker_python, reports, "fake", "--fresh")
    newest = list_runs(reports)[-1]
    lines = newest.rows_file("fake").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    victim = next(r for r in rows if r["status"] == "pass")
    victim.update(status="load-fail", error="planted", verdict="regression")
    newest.rows_file("fake").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bad = matrix("compare", str(results), str(reports), "--junit", str(tmp_path / "j.xml"),
                 "--markdown", str(tmp_path / "m.md"))
    assert bad.returncode == 1 and f"REGRESSION: [fake] {victim['cell']}: pass -> load-fail" in bad.stdout
    junit = (tmp_path / "j.xml").read_text()
    assert "<failure" in junit and "<skipped" in junit and victim["cell"] in junit
    assert "**1 regression(s)**" in (tmp_path / "m.md").read_text()
    # publishing the newer run makes it the reference; the older run stays, rows only
    publish(reports, results, ["fake"], {})
    old, new = list_runs(results)
    assert (old.path / "fake.parquet").exists() and not (old.path / "exports" / "fake.tar.gz").exists()
    assert (new.path / "exports" / "fake.tar.gz").exists()
    assert [m["run_id"] for m in references(results)] == [new.run_id]
    assert len(pd.read_parquet(new.path / "fake.parquet")) == 4, "pandas reads a published rows file as it is"


def test_a_changed_case_is_changed_not_a_regression(worker_python, tmp_path):
    corpus = tmp_path / "fake_cases"
    shutil.copytree(FAKE_CASES, corpus)
    run_into(worker_python, tmp_path / "a", "fake", cases=corpus)
    (corpus / "passes.py").write_text((corpus / "passes.py").read_text().replace("2.0", "-2.0") + "\n")
    run_into(worker_python, tmp_path / "b", "fake", cases=corpus)
    done = matrix("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert done.returncode == 0 and "2 changed case(s)" in done.stdout, done.stdout


def test_replay_reads_the_published_files(worker_python, tmp_path):
    reports, results = tmp_path / "reports", tmp_path / "results"
    run_into(worker_python, reports, "old-era")
    publish(reports, results, ["old-era"], {})
    done = matrix("replay", "--from", str(results), "--python", worker_python, "--env-id", "today",
                  "--out", str(tmp_path / "again"), "--no-report")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = Results(tmp_path / "again").rows()
    # one exported file, run by replay's default runtimes (onnxruntime CPU, the reference evaluator, OpenVINO)
    assert sorted(rows["runtime"]) == ["onnxruntime", "openvino", "reference"]
    assert set(rows["runtime_env"]) == {"today"} and set(rows["env_id"]) == {"old-era"}
    assert not list(results.rglob("*.replay.jsonl")), "results/ is read, never written, by a replay"


def test_a_release_diff_lists_what_broke_got_fixed_or_fails_differently():
    base = {"case": "c", "variant": "default", "exporter": "torchscript", "opset_requested": 9, "options": "",
            "runtime": "onnxruntime", "provider": "CPUExecutionProvider", "runtime_env": "", "error": None}
    rows = []
    for env, statuses in (("old", ["pass", "load-fail", "run-fail", "export-fail"]),
                          ("new", ["load-fail", "pass", "diverge", "export-fail"])):
        for index, status in enumerate(statuses):
            rows.append({**base, "env_id": env, "opset_requested": 9 + index, "status": status,
                         "error": None if status == "pass" else f"{status} because"})
    frame = release_diff(pd.DataFrame(rows), "old", "new")
    assert list(zip(frame["change"], frame["opset_requested"])) == [("broke", 9), ("fixed", 10),
                                                                    ("fails differently", 11)]
    assert release_diff(pd.DataFrame(rows), "old", "missing").empty
    assert current_view is not None


def test_the_committed_reference_builds_a_site_of_small_pages(published_site):
    """results/ in the repository: every lineup environment, as-expected, and a site from it alone."""
    from matrix.envs.lineup import load_lineup
    view = current_view(Results(REPO / "results").rows())
    assert set(view["env_id"]) == {e.id for e in load_lineup()}
    assert set(view["verdict"]) == {"as-expected"}
    built, _ = published_site
    assert built.index.exists() and not built.oversized and built.largest[1] < 2 * 2 ** 20


def fake_reports(out, env_id="fake", run_id="r1"):
    """A finished run of one environment written by hand: rows, state, catalogue, one exported file."""
    from matrix.results.rows import append_row
    from matrix.results.store import RunDir, write_json
    from matrix.wire import Row
    run = RunDir(out, run_id)
    exports = run.exports_dir(env_id)
    exports.mkdir(parents=True)
    write_json(run.meta_file, {"run_id": run_id, "created": "2026-01-01T00:00:00+00:00", "selection": {}})
    append_row(run.rows_file(env_id), Row(run_id=run_id, env_id=env_id, cell="c1", case="c", variant="default",
                                          exporter="torchscript", runtime="onnxruntime", status="pass").to_dict())
    write_json(run.state_file(env_id), {"status": "complete", "python": "/home/someone/.envs/x/bin/python",
                                        "versions": {"python": "3.11.7"}})
    write_json(run.catalogue_file(env_id), {"env_id": env_id, "cases": []})
    (exports / "m.onnx").write_bytes(b"onnx")
    write_json(exports / "m.json", {"ok": True, "path": str(exports / "m.onnx"), "case": "c"})
    return run


def packed(results, run_id="r1", env_id="fake") -> dict[str, bytes]:
    import io
    import tarfile
    archive = results / "runs" / run_id / "exports" / f"{env_id}.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(archive.read_bytes()), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_published_state_and_sidecars_carry_no_local_paths(tmp_path):
    run = fake_reports(tmp_path / "reports")
    publish(tmp_path / "reports", tmp_path / "results", ["fake"], {})
    published = tmp_path / "results" / "runs" / "r1"
    assert json.loads((published / "fake.state.json").read_text())["python"] == "python"
    assert json.loads(packed(tmp_path / "results")["m.json"])["path"] == "m.onnx"
    everything = b"".join(p.read_bytes() for p in published.rglob("*") if p.is_file() and p.suffix != ".gz")
    assert str(run.out).encode() not in everything and b"/home/someone" not in everything


def test_a_symlink_is_never_packed_or_followed(tmp_path):
    from matrix.results.publish import PublishError
    secret = tmp_path / "secret.txt"
    secret.write_text("the contents of a system file")
    for where in ("exports member", "rows", "run folder", "target run"):
        reports, results = tmp_path / where / "reports", tmp_path / where / "results"
        run = fake_reports(reports)
        if where == "exports member":
            link = run.exports_dir("fake") / "stolen.onnx"
            link.symlink_to(secret)
        elif where == "rows":
            link = run.rows_file("fake")
            link.unlink()
            link.symlink_to(secret)
        elif where == "run folder":
            link, moved = run.path, tmp_path / where / "moved"
            run.path.rename(moved)
            link.symlink_to(moved)
        else:
            link = results / "runs" / "r1"
            link.parent.mkdir(parents=True)
            link.symlink_to(tmp_path / where)
        with pytest.raises(PublishError, match="symbolic link"):
            publish(reports, results, ["fake"], {})
        assert all("system file" not in p.read_text(errors="replace") for p in results.rglob("*") if p.is_file())


def test_an_exported_file_over_the_limit_is_left_out_and_said(tmp_path, monkeypatch):
    from matrix.results import archive
    monkeypatch.setattr(archive, "MAX_EXPORT_BYTES", 1000)
    run = fake_reports(tmp_path / "reports")
    (run.exports_dir("fake") / "big.onnx").write_bytes(b"x" * 5000)
    [item] = publish(tmp_path / "reports", tmp_path / "results", ["fake"], {})
    assert "big.onnx" not in packed(tmp_path / "results") and "m.onnx" in packed(tmp_path / "results")
    assert len(item.left_out) == 1 and "big.onnx: 0 MB, over the 0 MB" in item.left_out[0] and item.exports == 1


def test_the_export_limit_is_under_what_github_takes():
    from matrix.results.archive import MAX_EXPORT_BYTES
    assert MAX_EXPORT_BYTES <= 50 * 10 ** 6


def test_two_publishes_at_once_both_finish(tmp_path):
    fake_reports(tmp_path / "reports")
    code = ("import sys; from pathlib import Path; from matrix.results.publish import publish\n"
            "for _ in range(20): publish(Path(sys.argv[1]), Path(sys.argv[2]), ['fake'], {})\n")
    jobs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "reports"), str(tmp_path / "results")],
                             cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [job.communicate(timeout=300)[1] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], errors
    assert not [p for p in (tmp_path / "results").rglob("*.tmp")]


def test_unpacking_an_archive_is_bounded(tmp_path, monkeypatch):
    import io
    import tarfile

    from matrix.results import archive
    monkeypatch.setattr(archive, "MAX_EXPORT_BYTES", 1000)
    monkeypatch.setattr(archive, "MAX_ARCHIVE_BYTES", 2500)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, size in (("big.onnx", 5000), ("a.onnx", 900), ("b.onnx", 900), ("c.onnx", 900)):
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(b"\0" * size))
    (tmp_path / "e.tar.gz").write_bytes(buffer.getvalue())
    folder = archive.unpack_exports(tmp_path / "e.tar.gz", tmp_path / "out")
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["a.onnx", "b.onnx"]


def test_an_exported_file_changed_after_its_export_is_never_packed(tmp_path):
    import hashlib

    from matrix.results.archive import pack_exports
    from matrix.results.store import ResultsError
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "c-1.onnx").write_bytes(b"the file the export wrote")
    sidecar = {"ok": True, "export_sha256": hashlib.sha256(b"the file the export wrote").hexdigest()}
    (folder / "c-1.json").write_text(json.dumps(sidecar))
    assert pack_exports(folder)  # as exported: packed
    (folder / "c-1.onnx").write_bytes(b"another case's Identity")
    with pytest.raises(ResultsError, match="c-1.onnx: changed after its export wrote it"):
        pack_exports(folder)


def test_a_sidecar_that_cannot_name_its_cell_is_not_replayed(tmp_path):
    from matrix.run.plan import Selection
    from matrix.run.replay import replay_jobs
    good = {"ok": True, "case": "c", "variant": "default", "exporter": "torchscript", "opset": 11}
    (tmp_path / "a.json").write_text(json.dumps(good))
    (tmp_path / "b.json").write_text(json.dumps({**good, "variant": None}))
    (tmp_path / "c.json").write_text(json.dumps({k: v for k, v in good.items() if k != "opset"}))
    jobs = replay_jobs(tmp_path, "old", "new", Selection(runtimes=("ort-cpu",)))
    assert [job.export for job in jobs] == [str(tmp_path / "a.json")]


def test_the_workflow_pins_every_action_by_commit_and_leaves_no_token_on_disk():
    """A tag can be moved to other code; a commit cannot. Jobs run case code, so checkout keeps no credentials."""
    import re
    text = (REPO / ".github" / "workflows" / "matrix.yml").read_text()
    uses = re.findall(r"uses: (\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses), uses
    checkouts = text.count("uses: actions/checkout@")
    assert checkouts and text.count("persist-credentials: false") == checkouts


# Issue 19: results/ under 60 MB across the whole lineup, history included; an op environment's rows (68,700 cells)
# are 1.2 MiB as Parquet against 4.2 as gzipped JSON Lines.
RESULTS_BOUND = 60 * 2 ** 20
OP_ROWS_BOUND = 2 * 2 ** 20


def test_published_results_stay_within_their_size_bounds():
    """results/ on disk is under its bound with room for one more publication of the op corpus in every lineup
    environment (rows, catalogue, skipped columns at the largest published one's size: what a republish adds
    to the history; the minors run no op corpus), and each op environment's rows are Parquet under their own bound."""
    from matrix.envs.lineup import load_lineup
    results = REPO / "results"
    total = sum(p.stat().st_size for p in results.rglob("*") if p.is_file())
    ops = list_runs(results / "ops")
    op_rows = [path for run in ops for path in row_files(run.path)]
    assert op_rows and all(path.suffix == ".parquet" for path in op_rows), "op rows are published as Parquet"
    largest = max(path.stat().st_size for path in op_rows)
    assert largest < OP_ROWS_BOUND, f"{max(op_rows, key=lambda p: p.stat().st_size)}: {largest} bytes"
    published = [(run, path.name[: -len(".published.json")]) for run in ops for path in run.path.glob("*.published.json")]
    per_env = max(sum(p.stat().st_size for p in run.path.glob(f"{env_id}.*")) for run, env_id in published)
    one_more = sum(1 for e in load_lineup() if e.runs_op_corpus) * per_env
    assert total + one_more < RESULTS_BOUND, f"results/ is {total} bytes, a republish of the op corpus adds {one_more}"


def test_compact_history_keeps_what_changed_and_never_the_newest_run(tmp_path):
    """publish --compact-history: a superseded run keeps only the rows a newer run does not repeat (same status and
    error for the cell); the newest run and so every current view are as they were; the drop is recorded."""
    from matrix.results.compact import compact_history
    from matrix.results.publish import write_rows
    from matrix.results.store import RunDir, read_json, write_json
    from matrix.wire import Row
    results = tmp_path / "results"

    def run(run_id, created, statuses):
        folder = RunDir(results, run_id)
        folder.path.mkdir(parents=True)
        write_json(folder.meta_file, {"run_id": run_id, "created": created, "selection": {}})
        rows = [Row(run_id=run_id, env_id="e", cell=cell, case=cell, variant="default", exporter="torchscript",
                    runtime="onnxruntime", status=status, error=None if status == "pass" else "why").to_dict()
                for cell, status in statuses.items()]
        write_rows(folder.path / "e", rows)
        write_json(folder.path / "e.published.json", {"run_id": run_id})

    run("old", "2026-01-01T00:00:00+00:00", {"a": "pass", "b": "pass", "c": "diverge"})
    run("new", "2026-02-01T00:00:00+00:00", {"a": "pass", "b": "export-fail", "c": "diverge"})
    before = current_view(Results(results).rows())[["cell", "status", "run_id"]].to_dict("records")
    done = compact_history(results)
    assert [(d.run_id, d.before, d.after) for d in done] == [("old", 3, 1)]
    old = Results(results).rows()
    assert sorted(old[old["run_id"] == "old"]["cell"]) == ["b"]  # b changed in the newer run; a and c repeat
    assert sorted(old[old["run_id"] == "new"]["cell"]) == ["a", "b", "c"]
    assert current_view(Results(results).rows())[["cell", "status", "run_id"]].to_dict("records") == before
    assert read_json(results / "runs" / "old" / "e.published.json")["compacted"]["e"]["rows_after"] == 1
    assert compact_history(results) == []  # nothing more to drop


def test_a_cell_the_newest_run_no_longer_makes_leaves_the_current_view():
    """An older run's row of a case the environment's newest run ran in another version is superseded (a column the
    new version skips); a case the newest run did not run at all keeps its older rows."""
    base = {"env_id": "e", "variant": "default", "exporter": "dynamo", "runtime": "onnxruntime", "status": "pass",
            "error": None, "finished_at": "t"}
    frame = pd.DataFrame([
        {**base, "run_id": "old", "run_order": 0, "cell": "x@9", "case": "x", "case_hash": "h1"},
        {**base, "run_id": "old", "run_order": 0, "cell": "x@18", "case": "x", "case_hash": "h1"},
        {**base, "run_id": "old", "run_order": 0, "cell": "y@18", "case": "y", "case_hash": "k1"},
        {**base, "run_id": "new", "run_order": 1, "cell": "x@18", "case": "x", "case_hash": "h2"},
    ])
    from matrix.wire import Row
    for column in Row.__dataclass_fields__:  # every field a row has, as the readers give them
        if column not in frame:
            frame[column] = None
    view = current_view(frame)
    assert sorted(zip(view["cell"], view["run_id"])) == [("x@18", "new"), ("y@18", "old")]
