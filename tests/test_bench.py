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


def test_the_model_bench_counts_each_export_once_and_names_the_slowest(tmp_path):
    import json

    from matrix.run.bench_models import export_costs, summary
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)

    def row(case, exporter, export_s, peak, runtime="onnxruntime"):
        return Row(env_id="e", case=case, variant="default", exporter=exporter, cell=f"{case}/{exporter}/{runtime}",
                   status="pass", runtime=runtime, opset_requested=18, stage_s={"export": export_s},
                   export_peak_mb=peak).to_dict()
    rows = [row("bert", "dynamo", 3.0, 120.0), row("bert", "dynamo", 3.0, 120.0, runtime="reference"),
            row("llama", "dynamo", 75.0, 900.0), row("gpt2", "torchscript", 1.0, 40.0)]
    (run / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    costs = export_costs(tmp_path)
    assert costs["exports"] == 3 and costs["median_export_s"] == 3.0  # bert's file is one export run twice
    assert costs["slowest_export"] == {"cell": "llama/default dynamo opset18", "s": 75.0}
    assert costs["exports_over_60_s"] == ["llama/default dynamo opset18"]
    assert costs["largest_export_peak"] == {"cell": "llama/default dynamo opset18", "mb": 900.0}
    each = dict(costs, cells=4, wall_s=120.0, verdicts={"as-expected": 4})
    line = summary({"env": "e", "jobs": 2, "memory_limit_mb": 18000, "wall_s": 240.0,
                    "torch's architectures": each, "transformers": each})
    assert "4.0 min (goal < 15)" in line and "1 over 60 s (goal 0)" in line and "limit 18000 MB" in line
