"""The bench's host-alone measurement runs the real host against its stand-in worker (no timing asserted: the
figures are the bench's; this keeps the stand-in speaking the protocol the host speaks)."""
from __future__ import annotations

from matrix.run.bench_host import host_cost
from matrix.wire import Row


def test_the_host_alone_answers_every_synthetic_cell_and_measures_itself(tmp_path):
    row = Row(status="pass", stage="time", duration_s=0.001, export_call="def export_model(): pass\n").to_dict()
    result = host_cost(tmp_path, 40, row)
    assert result["cells"] == 40
    rows = list((tmp_path / "out" / "runs").glob("*/host.jsonl"))
    assert len(rows) == 1 and len(rows[0].read_text().splitlines()) == 40  # the resume ran nothing again
    assert (tmp_path / "out" / "index.html").exists()
    assert all(result[step]["peak_mb"] > 0 and result[step]["host_cpu_s"] > 0 for step in ("run", "resume", "report"))


def test_the_op_bench_puts_each_stage_and_the_host_in_its_share_of_the_workers_wall(tmp_path):
    import json

    from matrix.run.bench_ops import shares
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    ids = {"env_id": "e", "case": "add.float32", "variant": "default", "exporter": "torchscript"}
    rows = [Row(**ids, cell=f"add/{runtime}", status="pass", runtime=runtime, duration_s=1.0, concurrent_workers=2,
                stage_s={"build": 0.1, "export": 0.5, "load": 0.2, "run": 0.1, "compare": 0.1}).to_dict()
            for runtime in ("onnxruntime", "reference")]
    rows.append(Row(**ids, cell="add/skipped", status="skip", runtime="onnxruntime").to_dict())  # a column that could not run: no work
    (run / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = shares(tmp_path, wall=2.0)
    assert (result["cells"], result["files"], result["workers"], result["cells_per_s"]) == (2, 1, 2, 1.0)
    assert result["verdicts"] == {"?": 2}
    share = result["share_of_workers_wall"]
    assert share == {"export": 0.25, "load": 0.1, "run": 0.05, "other": 0.1, "outside cells (host, worker starts)": 0.5}
