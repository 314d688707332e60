"""Isolation: no case changes another's row, every row answers its request, signals stop the run cleanly.

Each offender in tests/hostile_cases runs before ``zz_victim``, an innocent case that checks the
worker it gets: the offender's rows say what it changed, the victim's rows are untouched.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from test_faults import _alive, _workers_under

from matrix.results.rows import read_rows
from matrix.results.store import list_runs
from matrix.run.plan import Selection
from matrix.run.runner import EnvRunner

TESTS = Path(__file__).resolve().parent
HOSTILE = TESTS / "hostile_cases"
ONE_EXPORT_TWO_RUNTIMES = dict(opsets=(9,), exporters=("torchscript",), runtimes=("ort-cpu", "reference"))


def run_hostile(worker_python, out, cases, **env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    logged: list[str] = []
    try:
        runner = EnvRunner("hostile", worker_python, out, Selection(cases=cases, **ONE_EXPORT_TWO_RUNTIMES),
                           [HOSTILE], timeout_s=60, time_budget_s=0.02, log=logged.append)
        outcome = runner.run()
    finally:
        for key, value in old.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    rows, problems = read_rows(outcome.rows_file)
    assert problems == []
    cells = [r["cell"] for r in rows]
    assert len(cells) == len(set(cells)) == outcome.planned, "a row was lost or duplicated"
    return outcome, rows, logged


def by_case(rows, case):
    return [r for r in rows if r["case"] == case]


def victim_is_untouched(rows):
    victim = by_case(rows, "zz_victim")
    assert len(victim) == 2
    for row in victim:
        assert row["status"] == "pass", row["error"]
        assert row["state_changed"] is None and row["opset_actual"] == 9


@pytest.mark.parametrize("offender, change", [
    ("dtype_float64", "torch default dtype changed (torch.float32 -> torch.float64)"),
    ("custom_symbolic", "ONNX symbolic registry changed (custom symbolic for aten::relu)"),
    ("export_wrapper", "torch.onnx replaced: torch.onnx.export"),
    ("thread_crash", "thread(s) left running (crash-later)"),
    ("pool_left", "child process(es) left running"),
    ("forks", "child process(es) left running"),
    ("patches_class", "class attributes replaced: torch.nn.modules.activation.ReLU.forward"),
    ("patches_tensor", "class attributes replaced: torch.Tensor.add"),
    ("no_seed", "numpy.random replaced: numpy.random.seed"),
])
def test_a_case_that_changes_the_worker_changes_only_its_own_rows(worker_python, tmp_path, offender, change):
    _, rows, logged = run_hostile(worker_python, tmp_path, f"{offender}|zz_victim")
    guilty = by_case(rows, offender)
    assert guilty and all(change in (r["state_changed"] or "") for r in guilty), [r["state_changed"] for r in guilty]
    assert any(f"case {offender!r} changed the worker's global state" in line for line in logged)
    victim_is_untouched(rows)


def test_a_wrapped_exporter_still_exports_with_torchscript(worker_python, tmp_path):
    """The wrapper drops dynamo=False; the harness calls the torch.onnx.export it captured at start."""
    _, rows, _ = run_hostile(worker_python, tmp_path, "export_wrapper")
    assert all(r["status"] == "pass" and r["opset_actual"] == 9 and "dynamo=False" in r["export_call"] for r in rows)


def test_a_forged_frame_on_the_result_pipe_is_rejected_and_logged(worker_python, tmp_path):
    outcome, rows, _ = run_hostile(worker_python, tmp_path, "forges_frame|zz_victim")
    assert not [r for r in rows if "forged" in r["cell"]]
    assert all(r["status"] == "pass" for r in rows)
    log = (outcome.rows_file.parent / "hostile.worker.log").read_text()
    assert "[host] rejected a frame that does not answer request" in log and "zz_victim/default/forged" in log


def test_a_leftover_pool_does_not_turn_a_crash_into_a_timeout(worker_python, tmp_path):
    started = time.monotonic()
    _, rows, _ = run_hostile(worker_python, tmp_path, "pool_left", MATRIX_INJECT_FAULT="pool_left:run:segv")
    crashed = [r for r in rows if r["status"] == "crash"]
    assert crashed and all("SIGSEGV" in r["error"] for r in crashed)
    assert not [r for r in rows if r["status"] == "timeout"]
    assert time.monotonic() - started < 60, "the crash was seen only when the cell timed out"
    assert not _workers_under(tmp_path), "the pool's processes outlived their worker"


def test_a_death_between_cells_is_not_blamed_on_the_next_cell(worker_python, tmp_path):
    """The worker dies after answering each of a case's cells, before taking up the next request."""
    _, rows, logged = run_hostile(worker_python, tmp_path, "forges_frame|zz_victim",
                                  MATRIX_INJECT_FAULT="forges_frame:after:segv")
    assert all(r["status"] == "pass" for r in rows), [(r["cell"], r["status"]) for r in rows]
    victim_is_untouched(rows)
    assert sum("the worker died between cells" in line for line in logged) == 2


def hang(worker_python, out, pidfile):
    return subprocess.Popen([sys.executable, "-m", "matrix", "run", "--python", worker_python, "--env-id", "sig",
                             "--out", str(out), "--cases-dir", str(TESTS / "signal_cases"), "--exporters",
                             "torchscript", "--opsets", "9", "--runtimes", "ort-cpu", "--no-report"],
                            cwd=REPO, env={**os.environ, "MATRIX_TEST_PIDFILE": str(pidfile)}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pidfile: Path, proc) -> int:
    deadline = time.time() + 240
    while time.time() < deadline and not pidfile.exists():
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.2)
    time.sleep(0.3)
    return int(pidfile.read_text())


@pytest.mark.parametrize("signals, code", [
    ([signal.SIGTERM], 128 + signal.SIGTERM),
    ([signal.SIGINT], 130),
    ([signal.SIGINT, signal.SIGINT], 130),  # a second Ctrl-C while the first is cleaning up
])
def test_a_signal_stops_the_run_at_once_and_takes_the_case_children_along(worker_python, tmp_path, signals, code):
    pidfile = tmp_path / "child.pid"
    proc = hang(worker_python, tmp_path / "out", pidfile)
    child = wait_for(pidfile, proc)
    started = time.monotonic()
    for number in signals:
        proc.send_signal(number)  # the host only, as `timeout` or a CI runner would
        time.sleep(0.05)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert time.monotonic() - started < 15, "stopping waited for the hanging cell"
    assert "the same command resumes" in err and "Traceback" not in err
    deadline = time.time() + 10
    while time.time() < deadline and (_alive(child) or _workers_under(tmp_path)):
        time.sleep(0.2)
    assert not _alive(child), "the case's child process outlived the run"
    assert not _workers_under(tmp_path), "the worker outlived the run"
    [run] = list_runs(tmp_path / "out")
    assert run.env_state("sig")["status"] == "running", "an interrupted run stays resumable"


def replay_here(worker_python, out):
    """The run's exported files replayed by another environment id, into the same out folder."""
    done = subprocess.run([sys.executable, "-m", "matrix", "replay", "--python", worker_python, "--env-id", "replayer",
                           "--out", str(out), "--runtimes", "ort-cpu", "--time-budget", "0.02", "--no-report"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    rows, problems = read_rows(next(out.glob("runs/*/hostile.replay.jsonl")))
    assert problems == []
    return rows


def test_an_exported_file_another_case_rewrote_is_refused_and_a_damaged_sidecar_is_a_row(worker_python, tmp_path):
    _, rows, _ = run_hostile(worker_python, tmp_path, "zz_victim|zzz_tampers_exports")
    victim = by_case(rows, "zz_victim")
    assert all(r["status"] == "pass" and len(r["export_sha256"] or "") == 64 for r in victim)
    [sidecar] = tmp_path.glob("runs/*/exports/hostile/zzz_tampers_exports*.json")
    damaged = json.loads(sidecar.read_text())
    del damaged["atol"]  # an older or damaged sidecar: it killed the worker (crash, twice)
    sidecar.write_text(json.dumps(damaged))
    replayed = {r["case"]: r for r in replay_here(worker_python, tmp_path)}
    tampered = replayed["zz_victim"]
    assert (tampered["status"], tampered["error_type"]) == ("load-fail", "ExportChanged"), tampered["error"]
    assert "changed after it was exported" in tampered["error"] and tampered["export_sha256"] == victim[0]["export_sha256"]
    damaged_row = replayed["zzz_tampers_exports"]
    assert (damaged_row["status"], damaged_row["error_type"]) == ("load-fail", "BadSidecar"), damaged_row["error"]
    assert "lacks atol" in damaged_row["error"]


def test_torch_patching_itself_is_part_of_the_baseline_not_a_cases_doing():
    """torch.fx, dynamo_export and torch.export replace methods of torch's own classes as they work: adopted
    into the clean slate, neither reported nor undone; a case's own replacement still is."""
    torch = pytest.importorskip("torch")
    from matrix.worker.slate import _adopt, _torchs_own
    assert _torchs_own(torch.nn.Identity.forward) and _torchs_own(staticmethod(torch.nn.functional.relu))
    case_patch = lambda self, x: x  # noqa: E731  (what a case writes)
    assert not _torchs_own(case_patch)
    saved = {"forward": torch.nn.ReLU.forward}
    _adopt(saved, {"forward": torch.nn.Identity.forward})
    assert saved["forward"] is torch.nn.Identity.forward
    _adopt(saved, {"forward": case_patch})
    assert saved["forward"] is torch.nn.Identity.forward, "a case's patch is never adopted"


def test_variables_torch_sets_for_itself_join_the_baseline_and_a_cases_do_not():
    """dynamo's first export in torch 2.15 sets TORCHINDUCTOR_CACHE_DIR: torch's own set-up, never a reason to
    restart the worker (it would restart after every case); a variable a case sets is still a change."""
    from matrix.worker.slate import _adopt_torchs_variables
    saved = {"HOME": "/root", "TORCH_HOME": "/a"}
    now = {"HOME": "/root", "TORCHINDUCTOR_CACHE_DIR": "/tmp/torchinductor_root", "MY_SETTING": "1"}
    _adopt_torchs_variables(saved, now)
    assert saved == {"HOME": "/root", "TORCHINDUCTOR_CACHE_DIR": "/tmp/torchinductor_root"}
    assert saved != now, "the case's own variable still differs"


COND_CASE = '''"""torch.cond, as onnx-diagnostic's ControlFlowCond: torch replaces torch.jit's tracers while it exports it."""
import torch


class ControlFlowCond(torch.nn.Module):
    def forward(self, x):
        return torch.cond(x.sum() > 0, lambda x: torch.sin(x), lambda x: torch.cos(x), [x])


def build():
    return ControlFlowCond(), (torch.rand(5, 3),)
'''


def test_a_torch_cond_case_does_not_restart_the_worker(worker_python, tmp_path):
    """What torch does to itself exporting torch.cond (torch.jit._get_trace_graph, trace and trace_module
    replaced) is the baseline: no state change in its rows, no restart, the next case in the same worker."""
    cases = tmp_path / "cond_cases"
    cases.mkdir()
    (cases / "__init__.py").write_text("")
    (cases / "a_cond.py").write_text(COND_CASE)
    (cases / "b_plain.py").write_text("import torch\n\n\ndef build():\n    return torch.nn.ReLU(), (torch.randn(2, 3),)\n")
    logged: list[str] = []
    runner = EnvRunner("cond", worker_python, tmp_path / "out", Selection(opsets=(18,), exporters=("dynamo",),
                       runtimes=("ort-cpu",)), [cases], timeout_s=120, time_budget_s=0.01, log=logged.append)
    outcome = runner.run()
    rows, _ = read_rows(outcome.rows_file)
    assert sorted((r["case"], r["status"]) for r in rows) == [("a_cond", "pass"), ("b_plain", "pass")]
    assert all(r["state_changed"] is None for r in rows), [r["state_changed"] for r in rows]
    assert not [line for line in logged if "restarting the worker" in line or "fresh worker" in line], logged
    log = outcome.rows_file.parent / "cond.worker.log"
    assert log.read_text(errors="replace").count("=== worker start") == 1


def test_folders_torch_puts_on_sys_path_join_the_baseline_and_a_cases_do_not(tmp_path):
    """torch 2.6's first dynamo export adds setuptools/_vendor and a temporary folder to sys.path: torch's own;
    a folder of the case's own elsewhere is a change."""
    import sys
    import tempfile

    from matrix.worker.slate import _torchs_own_paths
    saved = ["/a", "/b"]
    vendor = sys.prefix + "/lib/site-packages/setuptools/_vendor"
    assert _torchs_own_paths(saved, saved + [vendor, tempfile.mkdtemp()])
    assert not _torchs_own_paths(saved, saved + [vendor, "/home/someone/my_modules"])
    assert not _torchs_own_paths(saved, ["/a", vendor]), "a folder taken away is a change"
    assert not _torchs_own_paths(saved, list(saved))
