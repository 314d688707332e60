"""``reduce`` on the host: a cell's row and exported file found, ``matrix/worker/reduce.py`` run in the environment
whose runtime failed it (the replaying one for a replayed cell), and the answer checked and written.

The worker does the search; the host picks what it runs on: the row's recorded runtime code, the cell's inputs and
tolerance, and, where the environment's onnx has no reference evaluator (onnx < 1.13: torch 1.4 to 1.10's eras),
intermediate values computed by the newest built environment's evaluator. Whatever fails on the way leaves no
folder behind.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry
from matrix.paths import REPO_ROOT
from matrix.views.labels import error_signature

REDUCIBLE = ("load-fail", "run-fail", "diverge", "batch-fail")
REFERENCE_SINCE = (1, 13)  # onnx.reference


class ReduceError(ValueError):
    """Bad input (a cell that matches nothing, one that passed, a file that is not ONNX): one line, exit 2."""


def signature(text: Any) -> str:
    """The views' error signature, with the file's own name out (rows say model.onnx, a reduction its own)."""
    # a file's name (model.onnx, /tmp/x/reduced.onnx), never a module's (torch.onnx.symbolic_opset9)
    return error_signature(re.sub(r"\S*\.onnx\b(?!\.)", "MODEL", str(text or "")))


def clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}


def env_results(out: Path, env: str | None) -> Any:
    """``out``'s Results, reading ``env``'s files alone where it is given (its rows and its replays): a published
    corpus holds half a million rows, of which a cell needs one environment's."""
    from matrix.results.read import Results
    from matrix.results.store import row_files

    class One(Results):
        def row_files(self, run: Any) -> list[Path]:
            return [p for p in row_files(run.path) if p.name.startswith(f"{env}.")]
    return (One if env else Results)(out)


def find_row(sources: list[Path], cell: str, env: str | None) -> tuple[dict[str, Any], Any]:
    """The newest row of ``cell`` (in ``env``) in the first source folder that has one, and that folder's Results."""
    from matrix.results.read import RUN_ORDER
    known: set[str] = set()
    for source in sources:
        results = env_results(source.resolve(), env)
        rows = results.rows()
        known.update(rows["cell"].dropna())
        view = rows[(rows["cell"] == cell) & ((rows["env_id"] == env) if env else True)]
        if view.empty:
            continue
        envs = sorted(set(view["env_id"]))
        if len(envs) > 1:
            raise ReduceError(f"cell {cell!r} has rows in {', '.join(envs)}: say which with --env")
        return clean(view.sort_values(RUN_ORDER).iloc[-1].to_dict()), results
    near = difflib.get_close_matches(cell, sorted(known), n=3, cutoff=0.4)
    where = " or ".join(str(s) for s in sources)
    hint = f"; nearest: {', '.join(near)}" if near else ""
    raise ReduceError(f"no row of cell {cell!r}{' in ' + env if env else ''} under {where}{hint}")


def check_reducible(row: dict[str, Any]) -> None:
    status = row.get("status")
    if status == "pass":
        raise ReduceError(f"cell {row['cell']} passed in {row['env_id']}: nothing to reduce")
    if status not in REDUCIBLE:
        raise ReduceError(f"cell {row['cell']} is {status} in {row['env_id']} (stage {row.get('stage')}): only a "
                          f"file that fails to load or run, or diverges, can be reduced")
    if not row.get("runtime_call") or not row.get("export_sha256"):
        raise ReduceError(f"cell {row['cell']} records no runtime call or exported file: run the cell again")


def exported_file(results: Any, row: dict[str, Any]) -> tuple[Path, Path | None]:
    """The cell's .onnx (and its inputs' .npz) in its environment's exports, found by the row's sha256."""
    for env_id, _, folder in results.exports():
        if env_id != row["env_id"]:
            continue
        for sidecar in sorted(folder.glob("*.json")):
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("export_sha256") == row["export_sha256"]:
                npz = sidecar.with_suffix(".npz")
                return sidecar.with_suffix(".onnx"), npz if npz.is_file() else None
    raise ReduceError(f"no exported file of cell {row['cell']} ({row['env_id']}) under {results.out}: "
                      f"run it again with --out to keep its exports (results/ops publishes none)")


def check_onnx(path: Path) -> Path:
    """A file that parses as ONNX's protobuf, checked here by its first bytes (the host never imports onnx)."""
    if not path.is_file():
        raise ReduceError(f"{path}: no such file")
    head = path.read_bytes()[:2]
    # a ModelProto starts with field 1 (ir_version, varint: 0x08) or, rarely, another field's tag; text does not
    if not head or head[0] not in (0x08, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x42):
        raise ReduceError(f"{path}: not an ONNX file (it does not start as an ONNX model does)")
    return path


def _release(version: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", (version or "0").split("+")[0])[:3])


def values_env(entry: Entry | None, built: list[Entry]) -> Entry | None:
    """Where the reference evaluator's values come from when ``entry``'s onnx has none: the newest built entry
    whose onnx has it (None: the entry's own, or no such environment)."""
    if entry is None or _release(entry.pin("onnx")) >= REFERENCE_SINCE:
        return None
    able = [e for e in built if _release(e.pin("onnx")) >= REFERENCE_SINCE]
    return able[-1] if able else None


def run_worker(python: str, args: list[str], timeout: float, module: str = "matrix.worker.reduce") -> dict[str, Any]:
    """``module`` in ``python``'s environment; its JSON answer (ReduceError with its last words)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    try:
        done = subprocess.run([python, "-m", module, *args], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ReduceError(f"the reduction ran past {timeout:g} s in {python}: give it --timeout") from None
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ReduceError(f"the reduction failed in {python} (exit {done.returncode}): {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reduce_into(out: Path, model: Path, data: Path | None, runtime: str, python: str, values_python: str | None,
                atol: float, rtol: float, timeout: float, recorded: bool = True) -> dict[str, Any]:
    """Run the reduction into ``out`` (created here, removed again when it fails); the worker's answer.
    ``runtime`` is the row's recorded runtime code, or (``recorded=False``) a runtime adapter's name."""
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".reduce-", dir=out) as scratch:
            code = Path(scratch) / "runtime_call.py"
            code.write_text(runtime, encoding="utf-8")
            args = [str(model.resolve()), str(data.resolve()) if data else "", str(out.resolve()),
                    *(["--runtime-code", str(code)] if recorded else ["--runtime", runtime]),
                    "--atol", repr(atol), "--rtol", repr(rtol)]
            if values_python:
                values = Path(scratch) / "values.npz"
                run_worker(values_python, ["values", *args[:2], str(values)], timeout)
                args += ["--values", str(values)]
            return run_worker(python, ["reduce", *args], timeout)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
