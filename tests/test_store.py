"""Results files: torn lines, foreign versions, concurrent writers, and which run a command joins."""
from __future__ import annotations

import json
import multiprocessing

import pytest

from matrix.results.rows import append_row, iter_rows, read_rows
from matrix.results.store import claim_run, list_runs
from matrix.wire import SCHEMA_VERSION, Row


def a_row(n: int, **extra) -> dict:
    return Row(env_id="e", cell=f"c{n}", case="case", variant="default", exporter="torchscript",
               runtime="onnxruntime", status="pass", **extra).to_dict()


def test_round_trip(tmp_path):
    path = tmp_path / "e.jsonl"
    append_row(path, a_row(1, error="<script>x</script>"))
    rows, problems = read_rows(path)
    assert problems == [] and rows[0]["cell"] == "c1" and rows[0]["schema_version"] == SCHEMA_VERSION


def test_torn_last_line_is_dropped_then_cut_before_the_next_append(tmp_path):
    path = tmp_path / "e.jsonl"
    append_row(path, a_row(1))
    with open(path, "a") as handle:
        handle.write(json.dumps(a_row(2))[:30])  # a kill mid-write
    rows, problems = read_rows(path)
    assert [r["cell"] for r in rows] == ["c1"]
    assert "torn last line" in problems[0] and str(path) in problems[0]
    append_row(path, a_row(3))
    rows, problems = read_rows(path)
    assert [r["cell"] for r in rows] == ["c1", "c3"] and problems == []


def test_foreign_lines_are_skipped_and_named(tmp_path):
    path = tmp_path / "e.jsonl"
    newer = dict(a_row(1), schema_version=SCHEMA_VERSION + 1)
    missing = {k: v for k, v in a_row(2).items() if k != "status"}
    path.write_text("\n".join([json.dumps(newer), "not json", json.dumps(missing), json.dumps(a_row(4))]) + "\n")
    rows, problems = read_rows(path)
    assert [r["cell"] for r in rows] == ["c4"]
    assert any("newer than this harness" in p and f"{path}:1" in p for p in problems)
    assert any(f"{path}:2: not JSON" in p for p in problems)
    assert any(f"{path}:3" in p and "missing fields: status" in p for p in problems)


def _writer(path, start):
    for n in range(start, start + 150):
        append_row(path, a_row(n, error="x" * 3000))  # long lines: bigger than a pipe's atomic write


def test_concurrent_writers_neither_interleave_nor_lose_rows(tmp_path):
    path = tmp_path / "e.jsonl"
    procs = [multiprocessing.Process(target=_writer, args=(path, i * 1000)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rows, problems = read_rows(path)
    assert problems == [] and len(rows) == 600 and len({r["cell"] for r in rows}) == 600


def test_a_command_joins_resumes_or_starts_a_run(tmp_path):
    selection = {"cases": ".*"}
    with claim_run(tmp_path, "a", selection) as first:
        first.set_env_state("a", status="complete")
    with claim_run(tmp_path, "b", selection) as joined:  # the next entry of the same `nox -s matrix`
        assert joined.run_id == first.run_id
        with claim_run(tmp_path, "b", selection) as concurrent:  # b is being written: never share
            assert concurrent.run_id != first.run_id
    with claim_run(tmp_path, "b", {"cases": "other"}) as other:
        assert other.run_id not in (first.run_id, concurrent.run_id)
    assert len(list_runs(tmp_path)) == 3


def test_text_fields_are_capped_when_read_as_the_worker_caps_them(tmp_path):
    from matrix.results.safe import MAX_TEXT_CHARS
    path = tmp_path / "e.jsonl"
    append_row(path, a_row(1, error="x" * 1_000_000, expectation_reason="y" * 5000))
    rows, problems = read_rows(path)
    assert problems == [] and len(rows[0]["error"]) < MAX_TEXT_CHARS + 100
    assert rows[0]["error"].startswith("x" * MAX_TEXT_CHARS) and "cut when read" in rows[0]["error"]
    assert len(rows[0]["expectation_reason"]) < MAX_TEXT_CHARS + 100


def test_a_line_too_long_is_skipped_and_named(tmp_path):
    path = tmp_path / "e.jsonl"
    append_row(path, a_row(1, error="x" * (3 * 2 ** 20)))
    append_row(path, a_row(2))
    rows, problems = read_rows(path)
    assert [r["cell"] for r in rows] == ["c2"] and "e.jsonl:1: longer than 2 MiB, skipped" in problems[0]


def test_a_gzip_bomb_is_a_named_problem_not_gigabytes(tmp_path):
    import gzip
    import resource

    from matrix.results.store import ResultsError, read_json
    bomb = tmp_path / "e.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as handle:
        for _ in range(192):
            handle.write(b"\n" * 2 ** 20)  # 192 MiB of newlines in about 200 KB
    catalogue = tmp_path / "e.catalogue.json.gz"
    with gzip.open(catalogue, "wb", compresslevel=9) as handle:
        handle.write(b"[")
        for _ in range(192):
            handle.write(b" " * 2 ** 20)
        handle.write(b"]")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows, problems = read_rows(bomb)
    assert rows == [] and "gzip bomb" in problems[0]
    try:
        read_json(catalogue)
        raise AssertionError("a 100 MiB catalogue was read")
    except ResultsError as exc:
        assert "gzip bomb" in str(exc)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 150 * 1024, f"reading the bombs grew the process by {grown_kib} KiB"


def test_rows_of_the_wrong_shape_are_skipped_and_named(tmp_path):
    path = tmp_path / "e.jsonl"
    good = a_row(1)
    with open(path, "w") as handle:
        for change in ({}, {"cell": ["c"]}, {"env_id": 7}, {"opset_requested": "nine"}, {"cpu_nodes": "Add"}):
            handle.write(json.dumps({**good, **change}) + "\n")
    rows, problems = read_rows(path)
    assert len(rows) == 1 and len(problems) == 4
    assert "fields of the wrong type (cell is list)" in problems[0] and "env_id is int" in problems[1]


def test_infinities_the_worker_sends_as_text_are_read_back_as_numbers(tmp_path):
    """The protocol sends inf/nan as their repr (JSON has neither): a diverging row with an infinite error is
    a row, never 'a field of the wrong type' that leaves its cell without an answer."""
    from matrix.wire.protocol import decode, encode
    sent = decode(encode({"type": "row", **a_row(1), "max_abs_err": float("inf"), "max_rel_err": float("nan"),
                          "min_passing_atol": float("-inf")}))
    sent.pop("type")
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(sent) + "\n" + json.dumps({**a_row(2), "max_abs_err": "infinite"}) + "\n")
    rows, problems = read_rows(path)
    assert len(rows) == 1 and rows[0]["max_abs_err"] == float("inf") and rows[0]["min_passing_atol"] == -float("inf")
    assert rows[0]["max_rel_err"] != rows[0]["max_rel_err"]  # nan
    assert len(problems) == 1 and "max_abs_err is str" in problems[0]


def test_rows_are_streamed_one_at_a_time_and_read_as_read_rows_reads_them(tmp_path):
    """iter_rows hands out each row as its line is read (a run's own rows, 50,000 cells, are never all held):
    the first row comes before a line written after it was taken, and what it skips it names as read_rows does."""
    path = tmp_path / "e.jsonl"
    for n in range(3):
        append_row(path, a_row(n))
    with open(path, "a") as handle:
        handle.write("not json\n")
    problems: list[str] = []
    rows = iter_rows(path, problems)
    assert next(rows)["cell"] == "c0"
    append_row(path, a_row(3))  # appended while the reader is at the first row: a stream reads it too
    assert [r["cell"] for r in rows] == ["c1", "c2", "c3"]
    assert read_rows(path)[0] == [dict(r) for r in iter_rows(path)]
    assert len(problems) == 1 and "not JSON" in problems[0]


def test_a_rows_file_past_the_bound_of_other_files_is_still_read(tmp_path):
    """One environment's 50,000 cells are over 64 MiB of rows: the run must read its own rows back (the bound
    on files a reader holds whole stays for the others)."""
    from matrix.results.rows import MAX_ROWS_FILE_BYTES
    from matrix.results.safe import MAX_FILE_BYTES, MAX_LINE_BYTES, ResultsError, read_bounded
    path = tmp_path / "e.jsonl"
    text = "x" * (MAX_LINE_BYTES - 4096)  # a long error: capped when read, but its bytes count
    line = (json.dumps(a_row(0, error=text), sort_keys=True) + "\n").encode()
    count = MAX_FILE_BYTES // len(line) + 2
    with open(path, "wb") as handle:
        for n in range(count):
            handle.write(line.replace(b'"cell": "c0"', f'"cell": "c{n}"'.encode()))
    assert MAX_FILE_BYTES < path.stat().st_size < MAX_ROWS_FILE_BYTES
    rows, problems = read_rows(path)
    assert problems == [] and len(rows) == count
    try:
        read_bounded(path)
    except ResultsError:
        pass
    else:
        raise AssertionError("other files keep their bound")


def test_a_page_written_in_pieces_is_whole_or_the_old_one(tmp_path):
    """A page streamed as it renders (the report's index of every cell) replaces the file only when all of
    it is written: a renderer that fails half-way leaves the old page and no temporary file."""
    from matrix.results.store import write_atomic
    page = tmp_path / "index.html"
    assert write_atomic(page, (piece for piece in (b"<p>", b"old", b"</p>"))) == 10
    def half_then_broken():
        yield b"<p>new"
        raise RuntimeError("the renderer broke half-way")
    with pytest.raises(RuntimeError):
        write_atomic(page, half_then_broken())
    assert page.read_bytes() == b"<p>old</p>" and not list(tmp_path.glob(".*.tmp"))
