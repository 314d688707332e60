"""``reduce CELL`` (or ``reduce FILE.onnx --runtime R``): a failing exported file shrunk to the smallest subgraph
that fails the same way, with reduced.onnx, its inputs and a standalone repro written into a folder."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from matrix.commands import common
from matrix.paths import DEFAULT_OUT, RESULTS_DIR

NAME = "reduce"
HELP = "shrink a failing exported file to the smallest subgraph that fails the same way"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="a cell key (as in the report), or an .onnx file (with --runtime)")
    parser.add_argument("--env", help="the environment whose row to reduce, when several have the cell; with a file: "
                        "the environment to run it in (default the newest built)")
    parser.add_argument("--from", dest="sources", type=Path, action="append",
                        help="the out folder with the cell's row and exports (default reports, then results)")
    parser.add_argument("--runtime", help="with a file: the runtime that fails it (ort-cpu, onnxruntime, ov-cpu, ...)")
    parser.add_argument("--inputs", type=Path, help="with a file: its inputs (.npz: input_0, ... or the input names)")
    parser.add_argument("--python", help="run it in this interpreter (onnx and the runtime) instead of a lineup entry")
    parser.add_argument("--out", type=Path, help="the folder to write into (default reduce-<case>)")
    parser.add_argument("--timeout", type=common.positive, default=900.0, help="seconds the reduction may take")
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.run.reduce import ReduceError
    try:
        return _reduce(args)
    except ReduceError as exc:
        common.eprint(f"error: {exc}")
        return 2


def _environment(lineup: list, env_id: str | None):
    """(entry, python, the python of the values' environment or None): the lineup's environment, built if needed."""
    from matrix.envs.build import built_entries, ensure_env
    from matrix.envs.lineup import find_entry
    from matrix.run.plan import SelectionError
    from matrix.run.reduce import values_env
    built = built_entries(lineup)
    if env_id is None and not built:
        raise SelectionError("no lineup environment is built yet: run `nox -s matrix` first, or say --env")
    entry = find_entry(lineup, env_id) if env_id else built[-1]
    values = values_env(entry, built)
    return (entry, str(ensure_env(entry, log=common.eprint)),
            str(ensure_env(values, log=common.eprint)) if values else None)


def _reduce(args: argparse.Namespace) -> int:
    from matrix.envs.lineup import load_lineup
    from matrix.results.safe import inside, slug
    from matrix.run.reduce import ReduceError, check_onnx, check_reducible, exported_file, find_row, reduce_into
    is_file = args.target.endswith(".onnx") or Path(args.target).is_file()
    if is_file:
        model, data = check_onnx(Path(args.target)), args.inputs
        if not args.runtime:
            raise ReduceError(f"{args.target}: say which runtime fails it with --runtime (e.g. ort-cpu)")
        if data is not None and not data.is_file():
            raise ReduceError(f"--inputs {data}: no such file")
        row = {"cell": Path(args.target).name, "env_id": args.env, "atol": 1e-4, "rtol": 1e-3, "case": model.stem}
    else:
        row, results = find_row(args.sources or [DEFAULT_OUT, RESULTS_DIR], args.target, args.env)
        if row.get("status") == "export-fail":  # the failing op and the smallest module that fails the same way
            from matrix.run.reduce_export import reduce_cell
            where = (lambda env: (None, common.interpreter(args.python, "local")[0], None)) if args.python else (
                lambda env: _environment(load_lineup(args.lineup), env))
            return reduce_cell(row, where, args.out, args.timeout)
        check_reducible(row)
        model, data = exported_file(results, row)
    if args.python:  # the user's own environment: its onnx computes the values too, where it can
        entry, (python, _), values_python = None, common.interpreter(args.python, "local"), None
    else:
        entry, python, values_python = _environment(load_lineup(args.lineup), row.get("runtime_env") or row["env_id"])
    out = args.out or inside(Path.cwd(), f"reduce-{slug(row['case'])}")
    result = reduce_into(out, model, data, args.runtime if is_file else row["runtime_call"], python, values_python,
                         float(row.get("atol") or 1e-4), float(row.get("rtol") or 1e-3), args.timeout,
                         recorded=not is_file)
    return _report(args, out, row, result, entry)


def _report(args: argparse.Namespace, out: Path, row: dict, result: dict, entry) -> int:
    where = entry.id if entry is not None else args.python
    from matrix.adapters import RUNTIMES
    from matrix.run.reduce import signature
    from matrix.views.reduced import build_script, install_lines
    baseline = result.get("baseline") or {}
    row = {**row, "runtime_call": row.get("runtime_call") or result.get("runtime_call")}
    result.update(cell=row["cell"], env_id=row.get("env_id"), runtime_env=row.get("runtime_env") or where,
                  row_status=row.get("status"), row_signature=signature(row.get("error")) if row.get("error") else None,
                  signature=signature(baseline.get("message")))
    (out / "result.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if not result.get("reduced"):
        common.eprint(f"not reduced: here ({where}) the file {baseline.get('status') or 'cannot be fed'}"
                      + (": the runtime agrees with onnx's reference evaluator, so a divergence from eager PyTorch is "
                         "in the file itself (the exporter's), not the runtime" if row.get("status") == "diverge" else ""))
        return 1
    runtime = (row.get("runtime") or args.runtime or "")
    distributions = tuple(d for a in RUNTIMES.values() if runtime in (a.runtime, a.name)
                          for ds in a.version_keys.values() for d in ds)
    commands = install_lines(entry, distributions)
    (out / "repro.py").write_text(build_script(result, row, commands), encoding="utf-8")
    (out / "run.sh").write_text("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n" + "\n".join(commands) + "\n",
                                encoding="utf-8")
    (out / "run.sh").chmod(0o755)
    ops = ", ".join(n["op_type"] for n in result["nodes"])
    print(f"{out}/reduced.onnx: {result['nodes_after']} of {result['nodes_before']} nodes ({ops}), "
          f"{result['tries']} tries in {result['seconds']} s, in {where}; values: {result['values']['reference']}")
    same = result.get("same") and (row.get("status") == "diverge" or not row.get("error")
                                   or result["row_signature"] == signature((result.get("final") or {}).get("message")))
    print(f"{'same failure' if same else 'DIFFERENT failure'}: {(result.get('final') or {}).get('status')}: "
          f"{str((result.get('final') or {}).get('message'))[:300]}")
    print(f"run it: sh {out}/run.sh   (or: python {out}/repro.py with onnx, numpy and the runtime)")
    return 0 if same else 1
