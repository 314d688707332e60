"""results/README.md: what the reference results are, how old, and where they were made (written by publish)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

HEAD = """# results/: the published reference

What `python -m matrix publish` copied here from finished runs: every lineup environment's rows, catalogue
(the cases as they ran), skipped columns and exported files, compressed, with `<env>.published.json` saying
when, where and with which harness each was made. It is an out folder like `reports/`: `python -m matrix
report --out results`, `compare results reports`, `replay --from results` and `nox -s site` read it.
The newest run of an environment is its reference; older runs stay as its history (rows only).

Each run's rows are `runs/<run>/<env>.parquet` (and `<env>.replay.parquet`: its exported files run by another
environment's runtimes): one row per cell, one column per field of the row schema (`matrix/wire/row.py`, its
`schema_version` in every row), sorted by cell, zstd-compressed. Lists and dicts (`batch_sizes`,
`runtime_versions`, ...) are JSON text, named in the file's metadata key `matrix.json_columns`. Runs published
before the harness wrote Parquet hold gzipped JSON Lines instead (`<env>.jsonl.gz`, one JSON object a line), read
the same way; `python -m matrix publish --repack --to DIR` rewrites those as Parquet. With pandas:

```python
import json, pandas as pd, pyarrow.parquet as pq
path = "results/ops/runs/<run>/torch-2.13.0.parquet"
rows = pd.read_parquet(path)                       # or pd.read_json(path, lines=True) for a .jsonl.gz
for name in json.loads(pq.read_metadata(path).metadata[b"matrix.json_columns"]):
    rows[name] = rows[name].map(json.loads, na_action="ignore")
```

| environment | run | finished | machine | harness | rows | replay rows | exported files |
|---|---|---|---|---|---|---|---|
"""


def release_order(env_id: Any) -> tuple:
    """``torch-1.4.0`` before ``torch-1.10.2``: numbers compared as numbers, the rest as text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", str(env_id)))


def write_readme(target: Path, references: list[dict[str, Any]]) -> Path:
    lines = [HEAD]
    for meta in sorted(references, key=lambda m: release_order(m.get("env_id", ""))):
        made = meta.get("made_with") or {}
        where = " / ".join(str(x) for x in (meta.get("cpu"), meta.get("gpu") or "no GPU") if x)
        commit = (made.get("commit") or "?")[:12]
        lines.append(f"| {meta.get('env_id')} | {meta.get('run_id')} | {meta.get('run_finished') or '?'} | {where} | "
                     f"{made.get('harness_version') or '?'} @ {commit} | {meta.get('rows')} | {meta.get('replay_rows')} | "
                     f"{meta.get('exports')} |\n")
    path = target / "README.md"
    path.write_text("".join(lines), encoding="utf-8")
    return path
