"""``reduce CELL`` of an export failure: the failing op and the smallest module that fails the same way.

The op comes from the export error where the exporter names it (TorchScript's "Exporting the operator 'aten::X'
...", "Unsupported: ONNX export of X ...", torch <= 1.12's "ONNX export failed on ATen operator X"; dynamo's
torchlib "No ONNX function found for <OpOverload(op='aten.X', ...)>", torch 2.1 - 2.4's "Unsupported FX nodes:
{'call_function': ['aten.X.default']}"), else from the case's traced graph: each distinct ATen op exported alone
(``matrix/worker/reduce_export.py``, in the cell's environment) until one fails with the row's error signature.
The smallest module is that op's frozen sample where the operator corpus has it and it fails the same way (with
its published row at the same exporter and opset), else the one-op module made from the traced call.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from matrix.paths import CASES_DIR, RESULTS_DIR
from matrix.run.reduce import ReduceError, run_worker, signature

OPS_DIR = CASES_DIR / "ops"
# What names the op, in the exporters' own words (from published rows); the first group is the op's name
NAMING = [re.compile(p) for p in (
    r"Exporting the operator '?(?:aten::)?([\w.]+?)'? to ONNX opset version",
    r"Unsupported: ONNX export of (?:operator )?([A-Za-z_]\w*)",
    r"ONNX export failed on ATen operator ([A-Za-z_]\w*)",
    r"No ONNX function found for <OpOverload\(op='(?:aten|prims)\.(\w+)'",
    r"Unsupported FX nodes: \{'call_function': \['(?:aten|prims)\.(\w+)",
    r"DataDependentOutputException'?>?: aten\.(\w+)",
)]
SAMPLES_PER_OP = 5  # one per dtype the corpus froze


def failing_op(error: Any) -> str | None:
    """The ATen op an export error names, as its base name (``index_put`` for aten::index_put_), or None."""
    text = str(error or "")
    for pattern in NAMING:
        found = pattern.search(text)
        if found:
            return re.sub(r"_$", "", found.group(1).split(".")[0])
    return None


def _base(call: str) -> str:
    return re.sub(r"_$", "", call.rsplit(".", 1)[-1])


def corpus_samples(op: str | None, prefer: str = "", folder: Path = OPS_DIR) -> list[dict[str, Any]]:
    """The operator corpus's frozen samples of ``op``, as the worker exports them: the case ``prefer`` first (an
    op case's own), then the op's plain samples before its variants', float32 first."""
    from matrix.wire.opcases import case_id, frozen_lines
    if not op or not (folder / "opinfo.jsonl").is_file():
        return []
    found = [line for line in frozen_lines(str(folder)) if "summary" not in line
             and (_base(line["call"]) == op or line["op"] == op)]
    found.sort(key=lambda line: (case_id(line) != prefer, bool(line.get("variant")), line["dtype"] != "float32",
                                 line["dtype"]))
    return [{"case_id": case_id(line), "call": line["call"],
             "sample": {k: line[k] for k in ("call", "args", "kwargs", "tensors")}} for line in found[:SAMPLES_PER_OP]]


def published(case: str, row: dict[str, Any], source: Path = RESULTS_DIR / "ops") -> dict[str, Any] | None:
    """The operator corpus's published row of ``case`` in the cell's environment, exporter and opset."""
    from matrix.results.read import RUN_ORDER
    from matrix.run.reduce import env_results
    if not (source / "runs").is_dir():
        return None
    rows = env_results(source.resolve(), row["env_id"]).rows()
    view = rows[(rows["case"] == case) & (rows["env_id"] == row["env_id"]) & (rows["exporter"] == row["exporter"])
                & (rows["opset_requested"] == row["opset_requested"]) & (rows["runtime"] == row["runtime"])]
    if view.empty:
        return None
    found = view.sort_values(RUN_ORDER).iloc[-1]
    return {"cell": found["cell"], "status": found["status"], "signature": signature(found["error"])
            if isinstance(found["error"], str) else "", "error": str(found["error"] or "")[:2000]}


def request_of(row: dict[str, Any], op: str | None, corpus: list[dict[str, Any]], trace: bool) -> dict[str, Any]:
    from matrix.wire import EXPORT_OPTIONS
    options = {key: row.get(key) for key in EXPORT_OPTIONS if row.get(key) is not None}  # the cell's, as it ran
    folders = [str(OPS_DIR)] if "." in str(row["case"]) else [str(CASES_DIR)]  # an op case's id is dotted
    return {"case": row["case"], "variant": row.get("variant") or "default", "cases_dirs": folders,
            "exporter": row["exporter"], "opset": int(row["opset_requested"]), "options": options, "op": op,
            "corpus": corpus, "trace": trace}


def _ask(python: str, request: dict[str, Any], out: Path, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=".reduce-export-", dir=out) as scratch:
        path = Path(scratch) / "request.json"
        path.write_text(json.dumps(request), encoding="utf-8")
        answer = run_worker(python, [str(path), str(out.resolve())], timeout, module="matrix.worker.reduce_export")
    for item in answer["candidates"]:  # the samples travel in files: the answer line stays small
        if item.get("sample_file"):
            item["sample"] = json.loads((out / item.pop("sample_file")).read_text(encoding="utf-8"))
    for stale in out.glob("candidate_*.json"):
        stale.unlink()
    return answer


def same_way(candidates: list[dict[str, Any]], wanted: set[str], op: str | None = None) -> dict[str, Any] | None:
    """The first candidate that fails with one of the ``wanted`` signatures (one of ``op`` first) and, where its
    error names an op, names ``op`` (torch 2.1's dynamo headline, "Failed to export the model to ONNX. Generating
    SARIF report", is every failure's: the op it names in its cause is what tells them apart)."""
    failing = [c for c in candidates if c.get("status") == "export-fail" and signature(c.get("message")) in wanted
               and (op is None or failing_op(c.get("message")) in (None, op))]
    named = [c for c in failing if op and _base(str(c.get("kind")).split("::")[-1]) == op]
    return (named or failing or [None])[0]


def search(row: dict[str, Any], python: str, out: Path, timeout: float) -> dict[str, Any]:
    """The worker's answers judged: the op, the module kept, every candidate's outcome in short. "The same way" is
    the row's error signature, or the one the cell's own export gives here (a harness that words errors anew)."""
    op = asked = failing_op(row.get("error"))
    op_from = "the export error" if op else None
    answer = _ask(python, request_of(row, op, corpus_samples(op, row["case"]), True), out, timeout)
    wanted = {signature(row.get("error"))}
    if answer["baseline"].get("status") == "export-fail":
        wanted.add(signature(answer["baseline"].get("message")))
        if not op and failing_op(answer["baseline"].get("message")):
            op, op_from = failing_op(answer["baseline"].get("message")), "the export error, as it is worded here"
    chosen = same_way(answer["candidates"], wanted, op)
    if chosen is not None and chosen["source"] == "trace" and not op:
        op, op_from = _base(chosen["kind"].split("::")[-1]), "the traced graph (its one-op module fails the same way)"
    if chosen is not None and chosen["source"] == "trace" and op != asked:
        more = corpus_samples(op, row["case"])
        if more:  # the op's frozen samples, which the first round could not know to export
            extra = _ask(python, request_of(row, op, more, False), out, timeout)
            chosen = same_way(extra["candidates"], wanted, op) or chosen
            answer["candidates"] = extra["candidates"] + answer["candidates"]
    return {"op": op, "op_from": op_from, "module": chosen, "row_signature": signature(row.get("error")),
            "answer": answer}


def reduce_export(row: dict[str, Any], python: str, out: Path, timeout: float) -> dict[str, Any]:
    """Run the search into ``out`` (created here, removed again when it fails) and keep the chosen module's
    outcome with the corpus's published row of it; result.json's content."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        found = search(row, python, out, timeout)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    answer, chosen = found.pop("answer"), found["module"]
    baseline = answer["baseline"]
    if baseline.get("status") != "export-fail" or signature(baseline.get("message")) != found["row_signature"]:
        found["baseline_differs"] = True  # here it exports, or fails otherwise: the row is not reproduced
    corpus = published(chosen["case_id"], row) if chosen and chosen.get("case_id") else None
    return {"kind": "export", **found, "published": corpus, "baseline": baseline, "torch": answer["torch"],
            "python": answer["python"], "seconds": answer["seconds"], "trace_error": answer["trace_error"],
            "candidates": [{k: c.get(k) for k in ("source", "kind", "case_id", "status")}
                           | {"signature": signature(c.get("message")) if c.get("message") else ""}
                           for c in answer["candidates"]]}


def check_exporting(row: dict[str, Any]) -> None:
    if not row.get("export_call") or row.get("runtime_env"):
        raise ReduceError(f"cell {row['cell']} records no export call of its own environment: run the cell again")


def write_export(out: Path, row: dict[str, Any], result: dict[str, Any], entry: Any) -> tuple[list[str], bool]:
    """result.json, and where a module fails the same way its repro.py and run.sh; (the lines to print, found)."""
    from matrix.views.labels import error_headline
    from matrix.views.reduced import build_export_script
    from matrix.views.repro import _install_commands
    result.update(cell=row["cell"], env_id=row["env_id"], row_status=row.get("status"))
    chosen = result.get("module")
    commands = [*(_install_commands(entry, None, ".venv") if entry is not None else
                  ["# the environment is not in this lineup: install torch and onnx at the versions above"]),
                ".venv/bin/python repro.py"]
    if chosen:
        (out / "repro.py").write_text(build_export_script(result, commands), encoding="utf-8")
        (out / "run.sh").write_text("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n" + "\n".join(commands) + "\n",
                                    encoding="utf-8")
        (out / "run.sh").chmod(0o755)
    else:  # an earlier reduction's repro would show another failure
        for stale in ("repro.py", "run.sh"):
            (out / stale).unlink(missing_ok=True)
    stored = {k: v for k, v in result.items() if k != "module"} | {
        "module": {k: v for k, v in (chosen or {}).items() if k != "sample"} or None}
    (out / "result.json").write_text(json.dumps(stored, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    tried = len(result["candidates"])
    lines = [f"{row['cell']} ({row['env_id']}): export-fail, {result['row_signature']}",
             f"failing op: {result.get('op') or 'not found'}" + (f" (named by {result['op_from']})" if result.get("op_from") else "")]
    if not chosen:
        if result.get("op") and not any(c.get("source") == "corpus" for c in result["candidates"]):
            lines.append(f"the operator corpus has no {result['op']} sample")
        lines.append(f"no one-op module of {tried} tried fails the same way (torch {result['torch']}); "
                     + (f"not traced: {result['trace_error']}" if result.get("trace_error") else
                        "the failure is the module's, not one op's"))
        return lines, False
    if chosen.get("case_id"):
        pub = result.get("published") or {}
        lines.append(f"smallest module: the operator corpus's {chosen['case_id']} ({chosen['call']}); its published row "
                     + (f"{pub['cell']}: {pub['status']}" + (", the same signature" if pub.get("signature") ==
                        result["row_signature"] else f", {pub.get('signature')!r}") if pub else "in results/ops: none"))
    else:
        lines.append(f"smallest module: one call of {chosen['call']} from the traced graph (the corpus has no "
                     f"{result.get('op')} sample that fails this way)")
    lines.append(f"same failure: export-fail: {error_headline(chosen.get('message'))}")
    if result.get("baseline_differs"):
        lines.append(f"note: here the whole case gives {result['baseline'].get('status')}: "
                     f"{signature(result['baseline'].get('message'))!r}")
    lines += [f"{tried} candidate module(s) exported in {result['seconds']} s",
              f"run it: sh {out}/run.sh   (or: python {out}/repro.py with torch and onnx)"]
    return lines, True


def reduce_cell(row: dict[str, Any], environment: Any, out: Path | None, timeout: float) -> int:
    """``reduce CELL`` of an export-fail row: run in its environment (``environment(env_id)`` gives the entry and
    its Python), written into ``out`` (default reduce-<case> here); 0 when a module fails the same way."""
    from matrix.results.safe import inside, slug
    check_exporting(row)
    entry, python, _ = environment(row["env_id"])
    out = out or inside(Path.cwd(), f"reduce-{slug(row['case'])}")
    lines, found = write_export(out, row, reduce_export(row, python, out, timeout), entry)
    print("\n".join(lines))
    return 0 if found else 1
