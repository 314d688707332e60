"""The GitHub Actions workflow's shards: every lineup entry's Python resolved as the plan job resolves it (from
the recorded sources in .github/python-sources.json), the job list covering every entry and op range, the op
ranges partitioning the corpus within their budget, and op shards of one entry combined into one run."""
from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO
from test_publish import uploads_checked

from matrix.envs.lineup import Entry, load_lineup
from matrix.results.combine import CombineError, combine
from matrix.results.rows import iter_rows, read_rows
from matrix.results.store import readable_rows
from matrix.run import shards
from matrix.run.pythons import NoPythonSource, load_sources, resolve

WORKFLOW = (REPO / ".github" / "workflows" / "matrix.yml").read_text()


def test_every_lineup_entry_gets_its_python_the_way_the_workflow_does():
    sources = load_sources()
    resolved = {entry.id: resolve(entry, sources) for entry in load_lineup()}  # raises, naming the entry
    assert resolved["torch-1.4.0"].source == "container" and resolved["torch-1.4.0"].container == "python:3.7-bookworm"
    assert resolved["torch-1.4.0"].patch == "3.7.17" and resolved["torch-1.4.0"].runner == "ubuntu-24.04"
    assert {r.source for e, r in resolved.items() if e != "torch-1.4.0"} == {"uv"}
    # the plan job's output is exactly this resolution, entry by entry
    plan = shards.plan()
    assert {job["id"]: job["python-source"] for job in plan["entries"]} == {e: r.source for e, r in resolved.items()}


def test_an_entry_whose_python_no_source_has_is_refused_naming_it():
    sources = load_sources()
    with pytest.raises(NoPythonSource, match=r"lineup entry torch-0\.4 needs Python 3\.6.*ubuntu-24\.04"):
        resolve(Entry(id="torch-0.4", python="3.6", pins=()), sources)
    # 3.7 without its container: setup-python's manifest has it only on the deprecated ubuntu-22.04
    no_image = {**sources, "container": {**sources["container"], "images": {}}}
    with pytest.raises(NoPythonSource, match=r"torch-1\.4\.0 needs Python 3\.7.*ubuntu-22\.04 is deprecated"):
        resolve(Entry(id="torch-1.4.0", python="3.7", pins=()), no_image)
    # setup-python is the next source after uv, and installs the host's Python beside the entry's
    no_uv = {**sources, "uv": {**sources["uv"], "versions": {}}}
    got = resolve(Entry(id="x", python="3.8", pins=()), no_uv)
    assert (got.source, got.patch, got.host_pythons) == ("setup-python", "3.8.18", "3.8\n3.11")
    with pytest.raises(NoPythonSource, match="not a supported image"):
        resolve(Entry(id="x", python="3.11", pins=()), {**sources, "runner": "ubuntu-22.04"})


def test_the_recorded_uv_list_is_the_pinned_uvs_own():
    record = load_sources()["uv"]
    pinned = re.search(r"^uv==(\S+)$", (REPO / "requirements.txt").read_text(), re.M).group(1)
    assert record["uv"] == pinned, "requirements.txt pins another uv: re-record .github/python-sources.json"
    uv = shutil.which("uv")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.split()[1] if uv else None
    if version != pinned:
        pytest.skip(f"uv {pinned} is not the uv here ({version})")
    listed = subprocess.run([uv, "python", "list", "--only-downloads", "--all-versions", "--all-platforms",
                             "--output-format", "json"], capture_output=True, text=True, timeout=60,
                            env={"UV_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    newest: dict[str, str] = {}
    for item in json.loads(listed.stdout):
        stable = re.fullmatch(r"\d+\.\d+\.\d+", item["version"])
        if (item["os"], item["arch"], item["libc"], item["implementation"], item["variant"]) == (
                "linux", "x86_64", "gnu", "cpython", "default") and stable:
            newest.setdefault(item["version"].rsplit(".", 1)[0], item["version"])
    assert newest == record["versions"]
    assert "3.7" not in newest  # why torch-1.4.0 needs another source


def test_the_workflows_jobs_cover_every_entry_and_every_op_shard():
    plan, starts, lineup = shards.plan(), shards.load_split(), load_lineup()
    assert [job["id"] for job in plan["entries"]] == [entry.id for entry in lineup]
    assert {job["session"] for job in plan["entries"]} == {f"matrix({entry.id})" for entry in lineup}
    ops = [e for e in lineup if e.runs_op_corpus]  # the minors run no op corpus (Entry.runs_op_corpus)
    assert len(ops) < len(lineup) and {e.id for e in lineup} - {e.id for e in ops} == {
        e.id for e in lineup if "minor" in e.tags}
    expected = [f"--env {e.id} --shard {k}/{len(starts[e.id])}" for e in ops for k in range(1, len(starts[e.id]) + 1)]
    assert [job["args"] for job in plan["ops"]] == expected
    jobs = plan["entries"] + plan["ops"]
    assert len({job["name"] for job in jobs}) == len({job["artifact"] for job in jobs}) == len(jobs)
    # the workflow runs that very list, and has a way to get every source's Python
    assert "python -m matrix.run.shards plan" in WORKFLOW
    assert "shard: ${{ fromJSON(needs.plan.outputs.shards) }}" in WORKFLOW
    assert 'print("shards=" + json.dumps(plan["entries"] + plan["ops"]))' in WORKFLOW
    assert "image: ${{ matrix.shard.container }}" in WORKFLOW and "matrix.shard.host-pythons" in WORKFLOW
    assert "matrix.shard.python-source == 'uv'" in WORKFLOW and "timeout-minutes: 45" in WORKFLOW
    # every job's nox session exists (a bare `nox -l` lists the quick tag's only: the workflow runs them all)
    sessions = subprocess.run([sys.executable, "-m", "nox", "-s", "matrix", "ops", "-l", "--json"], cwd=REPO,
                              capture_output=True, text=True)
    names = {s["session"] for s in json.loads(sessions.stdout)}
    assert {job["session"] for job in jobs} <= names


def test_the_op_shards_partition_the_corpus():
    ops, starts = shards.corpus_ops(), shards.load_split()
    ids = [case for cases in ops.values() for case in cases]
    assert len(ids) == len(set(ids)) == 2290
    for entry in (e for e in load_lineup() if e.runs_op_corpus):
        count = len(starts[entry.id])
        patterns = [re.compile(shards.shard_cases(entry.id, f"{k}/{count}")) for k in range(1, count + 1)]
        hits = {case: [k for k, p in enumerate(patterns) if p.search(case)] for case in ids}
        assert all(len(found) == 1 for found in hits.values()), entry.id
        assert all(hits[case] for case in ids) and all(any(k == [i] for k in hits.values()) for i in range(count))


def test_the_committed_op_shards_fit_the_budget_with_todays_results():
    published, ops, starts = shards.published_costs(), shards.corpus_ops(), shards.load_split()
    assert set(starts) == {entry.id for entry in load_lineup() if entry.runs_op_corpus}
    for entry in (e for e in load_lineup() if e.runs_op_corpus):
        costs, _ = shards.entry_costs(entry, ops, published)
        spent = shards.shard_costs(costs, starts[entry.id])
        assert max(spent) <= shards.BUDGET_S, f"{entry.id}: {spent}: python -m matrix.run.shards write"
        assert shards.estimated_wall_s(max(spent)) <= 45 * 60
    assert len(starts["torch-2.15.0"]) >= 2  # its 2,823 s of cells are more than one shard's budget


def test_split_cuts_contiguous_ranges_each_under_the_budget():
    costs = {name: cost for name, cost in zip("abcdefgh", (5, 1, 1, 6, 2, 2, 2, 1))}
    starts = shards.split(costs, budget=8)
    assert starts == shards.split(dict(reversed(costs.items())), budget=8) and starts[0] == ""
    assert max(shards.shard_costs(costs, starts)) <= 8 and sum(shards.shard_costs(costs, starts)) == 20
    assert shards.ranges(sorted(costs), starts) and shards.split(costs, budget=100) == [""]
    with pytest.raises(shards.ShardError, match="one op alone"):
        shards.split({"a": 3, "b": 30}, budget=10)


def test_nox_ops_shard_becomes_that_ranges_cases():
    args = shards.shard_posargs(["--env", "torch-2.15.0", "--shard", "1/2", "--jobs", "4"])
    assert args[:4] == ["--env", "torch-2.15.0", "--jobs", "4"] and args[4] == "--cases"
    assert re.search(args[5], "abs.float32") and not re.search(args[5], "zeros_like.float32")
    for bad, said in ((["--shard", "1/2"], "exactly one --env"), (["--env", "torch-2.15.0", "--shard", "3/2"], "K/N"),
                      (["--env", "torch-2.15.0", "--shard", "1/3"], "has 2 op shards")):
        with pytest.raises(shards.ShardError, match=said):
            shards.shard_posargs(bad)
    assert shards.shard_posargs(["--env", "x"]) == ["--env", "x"]


def _shard(folder, rows, cases, done_status="complete"):
    run = folder / "runs" / "gha-1-1"
    run.mkdir(parents=True)
    selection = {"cases": cases, "every_opset": True, "exporters": ["torchscript"], "opsets": [17], "runtimes": ["ort-cpu"]}
    (run / "run.json").write_text(json.dumps({"run_id": "gha-1-1", "created": f"2026-12-01T0{len(cases) % 9}",
                                              "harness_version": "1.1.0", "selection": selection}))
    state = {"done": len(rows), "planned": len(rows), "fingerprint": "f", "versions": {"torch": "2.13.0"},
             "started": "2026-12-01T01", "finished": f"2026-12-01T0{len(rows) % 9 + 1}", "status": done_status}
    (run / "torch-2.13.0.state.json").write_text(json.dumps(state))
    (run / "torch-2.13.0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "torch-2.13.0.catalogue.json").write_text('{"cases": []}')
    column = {"exporter": "torchscript", "opset_requested": 21, "reason": "above the maximum", "cells": len(rows)}
    (run / "torch-2.13.0.skips.json").write_text(json.dumps({"env_id": "torch-2.13.0", "columns": [column]}))
    return folder


def test_op_shards_of_one_entry_combine_into_its_one_run(tmp_path):
    published = readable_rows(REPO / "results" / "ops" / "runs" / "20261201T133323Z-54b5" / "torch-2.13.0.jsonl")
    rows = list(itertools.islice(iter_rows(published), 6))  # six real published op rows, in whichever form
    a = _shard(tmp_path / "a", rows[:4], "^a$")
    b = _shard(tmp_path / "b", rows[4:], "^b$", done_status="interrupted")
    (made,) = combine([a, b], tmp_path / "out")
    run = made / "runs" / "gha-1-1"
    got, problems = read_rows(run / "torch-2.13.0.jsonl")
    assert not problems and [r["cell"] for r in got] == [r["cell"] for r in rows]
    state = json.loads((run / "torch-2.13.0.state.json").read_text())
    assert (state["done"], state["planned"], state["status"]) == (6, 6, "interrupted")
    assert json.loads((run / "run.json").read_text())["selection"]["cases"] == "(?:^a$)|(?:^b$)"
    assert json.loads((run / "torch-2.13.0.skips.json").read_text())["columns"][0]["cells"] == 6
    with pytest.raises(CombineError, match="is in two shards"):
        combine([a, _shard(tmp_path / "c", rows[3:4], "^c$")], tmp_path / "twice")
    (tmp_path / "d" / "runs" / "gha-1-1").mkdir(parents=True)
    _shard(tmp_path / "e", rows[4:], "^b$")
    (tmp_path / "e" / "runs" / "gha-1-1" / "torch-2.13.0.catalogue.json").write_text('{"cases": [1]}')
    with pytest.raises(CombineError, match="different corpora"):
        combine([a, tmp_path / "e"], tmp_path / "differ")


def test_the_merge_job_fails_when_an_op_shard_uploaded_nothing(tmp_path):
    ops = json.dumps([{"id": "torch-a", "artifact": "ops-torch-a-1of2"}, {"id": "torch-a", "artifact": "ops-torch-a-2of2"}])
    uploads_checked(tmp_path, "every op shard uploaded its rows", "OPS", ops,
                    [("op-shards/ops-torch-a-1of2", "torch-a.jsonl"), ("op-shards/ops-torch-a-2of2", "torch-a.jsonl")],
                    "ops-torch-a-2of2")
    assert (tmp_path / "op-envs.txt").read_text() == "torch-a"


WATCH = REPO / ".github" / "workflows" / "watch.yml"


def _job(text: str, name: str) -> str:
    """One job's block of a workflow (from its ``  name:`` line to the next job's)."""
    match = re.search(rf"^  {name}:\n(.*?)(?=^  [a-z-]+:\n|\Z)", text, re.M | re.S)
    assert match, name
    return match.group(1)


def test_the_watch_workflow_runs_watch_weekly_and_opens_a_pull_request_with_the_least_rights(tmp_path):
    text = WATCH.read_text()
    if shutil.which("actionlint"):
        done = subprocess.run(["actionlint", str(WATCH)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    on = text[text.index("\non:\n"):text.index("\npermissions:")]
    assert re.search(r"schedule:\n\s+- cron: \"\d+ \d+ \* \* \d\"", on) and "workflow_dispatch:" in on
    assert "push:" not in on and "pull_request" not in on  # nobody else's code runs it with a write token
    assert re.search(r"^permissions: \{\}", text, re.M)
    watch, pull = _job(text, "watch"), _job(text, "pull-request")
    assert re.findall(r"^      [a-z-]+: \S+", watch.split("permissions:\n", 1)[1])[:1] == ["      contents: read"]
    assert not re.search(r": write\b", watch) and "python -m matrix watch $PRE" in watch
    assert "python -m matrix publish" in watch and "python -m matrix.run.shards write" in watch
    rights = re.search(r"permissions:\n((?:      .*\n)+)", pull).group(1)
    assert [line.split("#")[0].strip() for line in rights.splitlines()] == ["contents: write", "pull-requests: write"]
    assert "python" not in pull and "run:" not in pull  # no project code beside the write token
    uses = re.findall(r"uses: (\S+)", text)
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u) for u in uses)
    assert any(u.startswith("peter-evans/create-pull-request@") for u in uses)
    assert text.count("persist-credentials: false") == text.count("actions/checkout@") == 2
    assert "body-path: pr-body.md" in pull
    added = re.search(r"- id: added\n(?:.*\n)*?\s+run: \|\n((?:          .*\n)+)", watch).group(1)
    (tmp_path / "reports" / "watch").mkdir(parents=True)
    for name in ("torch-2.16.0.md", "torch-2.16.0-ort-1.33.0.md", "notes.txt"):
        (tmp_path / "reports" / "watch" / name).write_text("x")
    output = tmp_path / "output"
    subprocess.run(["bash", "-e", "-c", "\n".join(line[10:] for line in added.splitlines())], cwd=tmp_path,
                   env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}, check=True)
    assert output.read_text() == "added=torch-2.16.0,torch-2.16.0-ort-1.33.0\n"
    subprocess.run(["bash", "-e", "-c", "\n".join(line[10:] for line in added.splitlines())], cwd=tmp_path / "reports",
                   env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)}, check=True)
    assert output.read_text().endswith("added=\n")  # nothing new: no pull request
