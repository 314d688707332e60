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
