"""Published rows as Parquet (matrix/results/columnar.py through rows.py): exact round trips, the same bytes for
the same rows, both forms read side by side, damaged and lying files named, and the repack of old ones."""
from __future__ import annotations

import gzip
import json
import math
import random

import pandas as pd
import pytest

pa = pytest.importorskip("pyarrow")  # a host requirement: without it the host cannot read results/ops at all
import pyarrow.parquet as pq  # noqa: E402

from matrix.results.columnar import cell_order, iter_parquet, to_parquet  # noqa: E402
from matrix.results.publish import PublishError, publish_replays, repack, write_rows  # noqa: E402
from matrix.results.read import Results  # noqa: E402
from matrix.results.rows import iter_rows, read_rows  # noqa: E402
from matrix.results.store import RunDir, readable_rows, row_files, write_json  # noqa: E402
from matrix.run.reference import Reference  # noqa: E402
from matrix.wire import Row  # noqa: E402


def a_row(n: int, env_id: str = "e", **extra) -> dict:
    fields = {"run_id": "r", "case": "case", "variant": "default", "exporter": "torchscript",
              "runtime": "onnxruntime", "status": "pass", **extra}
    return Row(env_id=env_id, cell=f"c{n:03d}", **fields).to_dict()


def hostile_rows() -> list[dict]:
    """Every kind of value a row holds, and the ones a format gets wrong: non-finite floats at the top and nested,
    None beside values, unicode (a lone surrogate too: a worker's text can hold one), an int where a float belongs."""
    return [
        a_row(3, max_abs_err=math.inf, max_rel_err=-math.inf, latency_ms=math.nan, batch_sizes=[1, 3],
              runtime_versions={"onnx": "1.17.0", "onnxruntime": None}, error="ошибка 🚫 «x»\n\ttab"),
        a_row(1, max_abs_err=1e-300, seed_claims=[], cpu_nodes=["Trilu (n1)", "Ünïcode"], checker_ok=False,
              inputs_dropped=["input_1"], opset_requested=17, error="\ud800 lone surrogate"),
        a_row(2, status="diverge", runtime_versions={"nested": {"deep": [1.5, {"k": None}]}}, nan_count=0,
              duration_s=0.0, atol=1e-5),
        a_row(2, status="pass", runtime_env="other", duration_s=2.5),  # the same cell again: order kept
        a_row(0, gpu_node_share=1, node_count=None, export_call="torch.onnx.export(" + "x" * 10_000 + ")"),
    ]


def same(a, b) -> bool:
    """Equal, NaN equal to NaN, and of the same type (1 is not 1.0): what "round-trips exactly" means here."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def as_old_publish(path, rows) -> None:
    """What publish wrote before Parquet: gzipped JSON Lines (inf and nan as JSON's Infinity/NaN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", errors="backslashreplace") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True) + "\n")


def test_rows_round_trip_exactly_through_parquet(tmp_path):
    rows = hostile_rows()
    as_old_publish(tmp_path / "e.jsonl.gz", rows)
    from_json, problems = read_rows(tmp_path / "e.jsonl.gz")
    assert problems == []
    write_rows(tmp_path / "e", from_json)
    back, problems = read_rows(tmp_path / "e.parquet")
    assert problems == [] and len(back) == len(rows)
    expected = cell_order(from_json)
    assert [r["cell"] for r in back] == ["c000", "c001", "c002", "c002", "c003"]
    assert [r["runtime_env"] for r in back if r["cell"] == "c002"] == [None, "other"], "one cell's rows keep order"
    for want, got in zip(expected, back):
        assert same(want, got), [k for k in want if not same(want[k], got[k])]
    assert math.isinf(back[4]["max_abs_err"]) and back[4]["max_abs_err"] > 0 and math.isnan(back[4]["latency_ms"])
    assert back[0]["gpu_node_share"] == 1 and type(back[0]["gpu_node_share"]) is int, "an int among floats stays int"
    assert back[2]["runtime_versions"] == {"nested": {"deep": [1.5, {"k": None}]}}
    assert back[4]["runtime_versions"] == {"onnx": "1.17.0", "onnxruntime": None} and back[0]["node_count"] is None
    # JSON carries a lone surrogate, UTF-8 (Parquet, pandas' Arrow strings) cannot: read as its escape, either form
    assert back[1]["error"] == from_json[1]["error"] == "\\ud800 lone surrogate"
    assert back[1]["seed_claims"] == [] and back[1]["checker_ok"] is False


def test_the_same_rows_give_the_same_bytes(tmp_path):
    rows = [a_row(n, latency_ms=n / 7, error=f"e{n % 3}") for n in range(300)]
    shuffled = rows[:]
    random.Random(4).shuffle(shuffled)
    assert to_parquet(rows) == to_parquet(shuffled), "sorted by cell: a republish of the same rows is no change"
    write_rows(tmp_path / "e", rows)
    first = (tmp_path / "e.parquet").read_bytes()
    write_rows(tmp_path / "e", shuffled)
    assert (tmp_path / "e.parquet").read_bytes() == first
    assert to_parquet(rows[:-1]) != first


def test_pandas_reads_a_published_file_as_the_readme_says(tmp_path):
    as_old_publish(tmp_path / "e.jsonl.gz", hostile_rows())
    write_rows(tmp_path / "e", read_rows(tmp_path / "e.jsonl.gz")[0])  # as publish does: the rows as read
    path = tmp_path / "e.parquet"
    frame = pd.read_parquet(path)
    for name in json.loads(pq.read_metadata(path).metadata[b"matrix.json_columns"]):
        frame[name] = frame[name].map(json.loads, na_action="ignore")
    assert list(frame["cell"]) == ["c000", "c001", "c002", "c002", "c003"]
    assert frame["batch_sizes"].iloc[4] == [1, 3] and frame["opset_requested"].iloc[1] == 17
    from matrix.results.readme import HEAD
    assert "pd.read_parquet(path)" in HEAD and 'map(json.loads, na_action="ignore")' in HEAD


def test_an_all_none_column_in_one_env_and_old_and_new_forms_read_together(tmp_path):
    """One environment's max_abs_err is all None (a typed column of nulls), another's holds floats; a third is an
    older run's .jsonl.gz: the views read every one, and the reference judge finds cells in both forms."""
    old, new = RunDir(tmp_path, "r1"), RunDir(tmp_path, "r2")
    for run, started in ((old, "2026-11-01T00:00:00"), (new, "2026-12-01T00:00:00")):
        run.path.mkdir(parents=True)
        write_json(run.meta_file, {"run_id": run.run_id, "created": started})
    as_old_publish(old.path / "a.jsonl.gz", [a_row(n, env_id="a", run_id="r1", max_abs_err=0.5) for n in range(3)])
    write_rows(new.path / "a", [a_row(n, env_id="a", run_id="r2", status="diverge") for n in range(2)])
    write_rows(new.path / "b", [a_row(n, env_id="b", run_id="r2", max_abs_err=0.25 * n) for n in range(4)])
    assert pa.parquet.read_schema(new.path / "a.parquet").field("max_abs_err").type == pa.float64()
    results = Results(tmp_path)
    frame = results.rows()
    assert results.problems == [] and len(frame) == 9
    assert sorted(frame[frame["env_id"] == "b"]["max_abs_err"]) == [0.0, 0.25, 0.5, 0.75]
    assert frame[(frame["env_id"] == "a") & (frame["run_id"] == "r2")]["max_abs_err"].isna().all()
    cells = Reference({"ops": tmp_path})._load("ops", "a", False)
    assert cells["c000"] == {"status": "diverge", "run_id": "r2"} and cells["c002"]["run_id"] == "r1"


def test_one_form_of_each_rows_file_is_read(tmp_path):
    as_old_publish(tmp_path / "e.jsonl.gz", [a_row(1)])
    write_rows(tmp_path / "e", [a_row(1), a_row(2)])  # publishing again drops the older form
    as_old_publish(tmp_path / "f.replay.jsonl.gz", [a_row(1, env_id="f", runtime_env="x")])
    (tmp_path / "g.unconfirmed.jsonl").write_text(json.dumps(a_row(1, env_id="g")) + "\n")
    assert not (tmp_path / "e.jsonl.gz").exists()
    assert [p.name for p in row_files(tmp_path)] == ["e.parquet", "f.replay.jsonl.gz"]
    assert readable_rows(tmp_path / "e.jsonl") == tmp_path / "e.parquet"
    assert readable_rows(tmp_path / "f.replay.jsonl").name == "f.replay.jsonl.gz"
    assert readable_rows(tmp_path / "h.jsonl") == tmp_path / "h.jsonl", "none there: the name itself"


def test_a_truncated_parquet_file_is_named_and_the_other_envs_still_read(tmp_path):
    run = RunDir(tmp_path, "r")
    run.path.mkdir(parents=True)
    write_json(run.meta_file, {"run_id": "r", "created": "2026-12-01T00:00:00"})
    write_rows(run.path / "good", [a_row(n, env_id="good") for n in range(5)])
    write_rows(run.path / "cut", [a_row(n, env_id="cut", error="x" * n) for n in range(500)])
    data = (run.path / "cut.parquet").read_bytes()
    (run.path / "cut.parquet").write_bytes(data[: len(data) // 2])
    rows, problems = read_rows(run.path / "cut.parquet")
    assert rows == [] and len(problems) == 1
    assert str(run.path / "cut.parquet") in problems[0] and "not a readable Parquet file" in problems[0]
    results = Results(tmp_path)
    frame = results.rows()
    assert sorted(set(frame["env_id"])) == ["good"] and len(frame) == 5
    assert any("cut.parquet" in p for p in results.problems)
    (run.path / "empty.parquet").write_bytes(b"")
    assert "empty.parquet: not a readable Parquet file" in read_rows(run.path / "empty.parquet")[1][0]


def test_a_file_that_claims_too_much_is_refused_whole_and_bad_rows_are_skipped(tmp_path):
    lying = tmp_path / "big.parquet"
    pq.write_table(pa.table({"cell": pa.nulls(1_000_001, pa.string())}), lying, compression="zstd")
    assert lying.stat().st_size < 200_000
    rows, problems = read_rows(lying)
    assert rows == [] and "claims 1000001 rows" in problems[0] and str(lying) in problems[0]
    write_rows(tmp_path / "e", [a_row(1)])
    with pytest.raises(ValueError, match="more than a rows file may hold"):  # a bound on the inflated bytes too
        list(iter_parquet(tmp_path / "e.parquet", limit=10))
    # columns a reader must not trust: a status of the wrong type, a required field missing, JSON text that is not
    odd = tmp_path / "odd.parquet"
    table = pa.table({"env_id": ["e", "e", "e", "e"], "cell": ["c1", "c2", None, "c4"], "case": ["k"] * 4,
                      "variant": ["d"] * 4, "exporter": ["t"] * 4, "runtime": ["o"] * 4,
                      "status": ["pass", "pass", "pass", "pass"], "schema_version": [2, 2, 2, 2],
                      "batch_sizes": ["[1]", "{not json", "[2]", "[3]"], "node_count": [1, 2, 3, None]})
    pq.write_table(table.replace_schema_metadata({b"matrix.json_columns": b'["batch_sizes"]'}), odd)
    rows, problems = read_rows(odd)
    assert [r["cell"] for r in rows] == ["c1", "c4"] and rows[0]["batch_sizes"] == [1]
    assert any(":row 2: batch_sizes is not JSON" in p for p in problems)
    assert any(":row 3: missing fields: cell" in p for p in problems)
    newer = tmp_path / "newer.parquet"
    pq.write_table(table.replace_schema_metadata({b"matrix.rows": b"2", b"matrix.json_columns": b"[[1], 2]"}), newer)
    assert "format 2, newer than this harness reads (1)" in read_rows(newer)[1][0]
    pq.write_table(table.replace_schema_metadata({b"matrix.json_columns": b"[[1], 2]"}), newer)
    rows, problems = read_rows(newer)  # odd metadata names no column: the list's text is a text, of the wrong type
    assert rows == [] and "batch_sizes is str" in problems[0] and len(problems) == 4
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(table.drop_columns(["batch_sizes"]).set_column(6, "status", pa.array([1, 2, 3, 4])), wrong)
    rows, problems = read_rows(wrong)
    assert rows == [] and "status is int" in problems[0]


def test_repack_turns_old_rows_into_parquet_and_never_drops_a_row(tmp_path):
    run = RunDir(tmp_path, "r")
    run.path.mkdir(parents=True)
    write_json(run.meta_file, {"run_id": "r", "created": "2026-12-01T00:00:00"})
    rows = hostile_rows()
    as_old_publish(run.path / "e.jsonl.gz", rows)
    as_old_publish(run.path / "e.replay.jsonl.gz", [a_row(1, runtime_env="x")])
    before = Results(tmp_path).rows()
    done = repack(tmp_path)
    assert sorted(p.name for p, _, _ in done) == ["e.parquet", "e.replay.parquet"]
    assert not list(run.path.glob("*.jsonl.gz")) and repack(tmp_path) == [], "a second repack has nothing to do"
    after = Results(tmp_path).rows()
    key = ["cell", "runtime_env"]
    pd.testing.assert_frame_equal(before.sort_values(key, kind="stable").reset_index(drop=True),
                                  after.sort_values(key, kind="stable").reset_index(drop=True))
    as_old_publish(run.path / "f.jsonl.gz", [a_row(1, env_id="f")])
    with gzip.open(run.path / "f.jsonl.gz", "at") as handle:
        handle.write("{not json\n")
    with pytest.raises(PublishError, match="f.jsonl.gz:2: not JSON"):
        repack(tmp_path)
    assert (run.path / "f.jsonl.gz").exists() and not (run.path / "f.parquet").exists()


def test_replays_added_later_join_the_published_rows_as_parquet(tmp_path):
    source, target = RunDir(tmp_path / "reports", "r"), RunDir(tmp_path / "results", "r")
    for run in (source, target):
        run.path.mkdir(parents=True)
        write_json(run.meta_file, {"run_id": "r", "created": "2026-12-01T00:00:00"})
    as_old_publish(target.path / "e.replay.jsonl.gz", [a_row(1, runtime_env="own"), a_row(2, runtime_env="gpu")])
    write_json(target.path / "e.published.json", {"env_id": "e", "run_id": "r"})
    source.rows_file("e", replay=True).write_text(
        "".join(json.dumps(a_row(n, runtime_env="gpu", latency_ms=math.inf)) + "\n" for n in (2, 3)))
    for _ in range(2):  # again: replaces that runtime environment's rows, never duplicates them
        assert publish_replays(tmp_path / "reports", tmp_path / "results", "gpu") == 2
    assert not (target.path / "e.replay.jsonl.gz").exists()
    rows, problems = read_rows(target.path / "e.replay.parquet")
    assert problems == [] and [(r["cell"], r["runtime_env"]) for r in rows] == [
        ("c001", "own"), ("c002", "gpu"), ("c003", "gpu")]
    assert math.isinf(rows[2]["latency_ms"])


def test_a_caller_that_reads_a_few_fields_reads_only_their_columns(tmp_path):
    write_rows(tmp_path / "e", [a_row(n, error="long " * 100, status="diverge") for n in range(3)])
    rows = list(iter_rows(tmp_path / "e.parquet", fields=("status",)))
    assert [(r["cell"], r["status"], r["run_id"]) for r in rows] == [(f"c00{n}", "diverge", None) for n in range(3)]
    assert all(r["error"] is None for r in rows), "the columns not asked for are not read"
    assert next(iter_rows(tmp_path / "e.parquet"))["error"].startswith("long ")


def test_a_few_cases_and_columns_are_read_alone_in_either_form(tmp_path):
    """One op's answer out of a big file: only its rows, only the fields asked for (the others keep defaults),
    and the same rows whether the file is Parquet or the older gzipped JSON Lines."""
    rows = [a_row(n, case=f"op{n % 7}.float32", error=f"e{n}", export_call="code") for n in range(300)]
    parquet, old = tmp_path / "e.parquet", tmp_path / "e.jsonl.gz"
    parquet.write_bytes(to_parquet(rows))
    as_old_publish(old, rows)
    wanted = {"op3.float32", "op5.float32", "no.such.case"}
    for path in (parquet, old):
        got = list(iter_rows(path, fields=["cell", "error"], cases=wanted))
        assert sorted(r["cell"] for r in got) == sorted(r["cell"] for r in rows if r["case"] in wanted)
        assert all(r["error"] == f"e{int(r['cell'][1:])}" for r in got)
    # a Parquet file reads only the columns asked for: the rest are their defaults
    assert {r["export_call"] for r in iter_rows(parquet, fields=["cell"], cases=wanted)} == {None}
