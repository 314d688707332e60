"""The workflow's shards: one job per lineup entry for the pitfall corpus, and the operator corpus split per
entry into op ranges sized by measured cost, so that no job on GitHub's runners runs over 45 minutes.

The split is committed (`.github/op-shards.json`, written by ``python -m matrix.run.shards write``) and
deterministic: the OpInfo names (op + variant) of cases/ops sorted as strings, cut into contiguous ranges, each
range named by its first op. A shard is every case of the ops from its first op up to the next range's first
op, whatever the frozen corpus holds then, so the shards partition the corpus by construction.

Cost: each op's summed ``duration_s`` in the entry's published rows (results/ops), or, for an entry not
published yet, the most any published entry spent on it with the exporters the entry has. A shard's wall time
on the runner is estimated as ``SETUP_S + cost * OVERHEAD * SLOWDOWN / CORES``; ranges are cut so that each
stays under SHARD_LIMIT_S.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from matrix.envs.lineup import Entry, load_lineup
from matrix.paths import CASES_DIR, REPO_ROOT, RESULTS_DIR
from matrix.results.publish import references
from matrix.results.rows import iter_rows
from matrix.results.safe import ResultsError
from matrix.results.store import RunDir, readable_rows
from matrix.wire.opcases import case_id, frozen_lines

SPLIT_FILE = REPO_ROOT / ".github" / "op-shards.json"
OPS_DIR = CASES_DIR / "ops"
OPS_RESULTS = RESULTS_DIR / "ops"

# The cost model. The 45-minute job limit is issue 19's; a shard aims at 30 minutes to leave the rest as margin.
SHARD_LIMIT_S = 30 * 60
# checkout, the host's requirements, the entry's environment (PyPI's torch pulls a few GB of CUDA wheels) and
# the worker's start (10 s here): what a shard spends before its first cell, generously
SETUP_S = 10 * 60
CORES = 4  # GitHub's standard ubuntu runners for public repositories; the harness runs --jobs = cores there
# Wall time x workers over the summed duration_s of the rows, measured here for the published op runs: torch
# 2.13.0 26 min 11 s x 2 workers / 2,305 s = 1.36; torch 2.6.0 22 min 40 s x 2 / 1,972 s = 1.38 (worker starts,
# the host, confirmations of unexpected cells)
OVERHEAD = 1.4
# A runner's core against this project's 2-core AMD EPYC: not measured yet (no run on GitHub so far); assumed
# twice as slow, so that a shard still ends well inside 45 minutes if it is
SLOWDOWN = 2.0
BUDGET_S = (SHARD_LIMIT_S - SETUP_S) * CORES / (OVERHEAD * SLOWDOWN)  # of summed duration_s per shard


class ShardError(ValueError):
    pass


def corpus_ops(folder: Path = OPS_DIR) -> dict[str, list[str]]:
    """Each OpInfo name (op + variant, as in its case ids) of the frozen corpus, sorted, with its case ids."""
    ops: dict[str, list[str]] = {}
    for line in frozen_lines(str(folder)):
        if "op" not in line:  # the summary line
            continue
        case = case_id(line)
        ops.setdefault(case[: -len(line["dtype"]) - 1], []).append(case)
    return dict(sorted(ops.items()))


def published_costs(results: Path = OPS_RESULTS) -> dict[str, dict[tuple[str, str], float]]:
    """Per published environment: the summed duration_s of its reference's rows per (case, exporter)."""
    costs: dict[str, dict[tuple[str, str], float]] = {}
    for meta in references(results):
        env_id, run = meta["env_id"], RunDir(results, meta["run_id"])
        spent: dict[tuple[str, str], float] = {}  # Parquet, gzipped or plain JSON Lines: whichever was published
        for row in iter_rows(readable_rows(run.rows_file(env_id)), fields=("case", "exporter", "duration_s")):
            key = (row["case"], row["exporter"])
            spent[key] = spent.get(key, 0.0) + float(row.get("duration_s") or 0.0)
        costs[env_id] = spent
    return costs


def exporters_of(entry: Entry) -> set[str]:
    return {"torchscript", "dynamo"} if "dynamo" in entry.tags else {"torchscript"}


def entry_costs(entry: Entry, ops: dict[str, list[str]], published: dict[str, dict[tuple[str, str], float]]
                ) -> tuple[dict[str, float], str]:
    """Each op's cost in ``entry`` (seconds of summed duration_s), and where the figures come from."""
    exporters = exporters_of(entry)
    if entry.id in published:
        sources, said = [published[entry.id]], f"{entry.id}'s published rows"
    else:
        sources = list(published.values())
        said = f"the most any of {', '.join(sorted(published))} spent, with {', '.join(sorted(exporters))}"
    per_case: dict[str, float] = {}
    for spent in sources:
        mine: dict[str, float] = {}
        for (case, exporter), seconds in spent.items():
            if exporter in exporters:
                mine[case] = mine.get(case, 0.0) + seconds
        for case, seconds in mine.items():
            per_case[case] = max(per_case.get(case, 0.0), seconds)
    return {op: sum(per_case.get(case, 0.0) for case in cases) for op, cases in ops.items()}, said


def estimated_wall_s(cost: float) -> float:
    return SETUP_S + cost * OVERHEAD * SLOWDOWN / CORES


def split(costs: dict[str, float], budget: float = BUDGET_S) -> list[str]:
    """The first op of each range: contiguous ranges of the sorted ops, as few as keep each under ``budget``."""
    names, total = sorted(costs), sum(costs.values())
    for count in range(max(1, math.ceil(total / budget)), len(names) + 1):
        starts, done = [""], 0.0
        for name in names:
            if done >= total * len(starts) / count and len(starts) < count:
                starts.append(name)
            done += costs[name]
        if max(shard_costs(costs, starts)) <= budget:
            return starts
    raise ShardError(f"one op alone costs more than a shard's budget ({budget:.0f} s): {max(costs, key=costs.get)}")


def ranges(names: list[str], starts: list[str]) -> list[list[str]]:
    """``names`` (sorted) cut at ``starts``: a name belongs to the last range whose first op is <= it."""
    cut: list[list[str]] = [[] for _ in starts]
    for name in names:
        cut[max(i for i, start in enumerate(starts) if start <= name)].append(name)
    return cut


def shard_costs(costs: dict[str, float], starts: list[str]) -> list[float]:
    return [sum(costs[name] for name in part) for part in ranges(sorted(costs), starts)]


def compute_split(lineup: list[Entry] | None = None, ops: dict[str, list[str]] | None = None,
                  published: dict[str, dict[tuple[str, str], float]] | None = None) -> dict[str, Any]:
    lineup = load_lineup() if lineup is None else lineup
    ops = corpus_ops() if ops is None else ops
    published = published_costs() if published is None else published
    entries = {}
    for entry in (e for e in lineup if e.runs_op_corpus):
        costs, said = entry_costs(entry, ops, published)
        starts = split(costs)
        spent = shard_costs(costs, starts)
        entries[entry.id] = {"starts": starts, "cost_s": [round(c, 1) for c in spent],
                             "estimated_wall_min": [round(estimated_wall_s(c) / 60, 1) for c in spent],
                             "costs_from": said}
    return {"about": "The op corpus's shards per lineup entry: matrix/run/shards.py wrote this from results/ops "
                     "(python -m matrix.run.shards write); each shard is the ops from its start up to the next.",
            "model": {"shard_limit_s": SHARD_LIMIT_S, "setup_s": SETUP_S, "cores": CORES, "overhead": OVERHEAD,
                      "slowdown": SLOWDOWN, "budget_s": round(BUDGET_S, 1)},
            "entries": entries}


def load_split(path: Path = SPLIT_FILE) -> dict[str, list[str]]:
    """Each entry's range starts, as committed."""
    return {env_id: data["starts"] for env_id, data in json.loads(Path(path).read_text())["entries"].items()}


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ShardError(f"--shard {text!r}: expected K/N with 1 <= K <= N")
    return int(match.group(1)), int(match.group(2))


def shard_cases(env_id: str, shard: str, starts: dict[str, list[str]] | None = None,
                ops: dict[str, list[str]] | None = None) -> str:
    """The --cases regular expression of op shard ``shard`` ("K/N") of ``env_id``: its case ids, exactly."""
    starts = load_split() if starts is None else starts
    ops = corpus_ops() if ops is None else ops
    if env_id not in starts:
        raise ShardError(f"{env_id} has no op shards in {SPLIT_FILE.name}: python -m matrix.run.shards write")
    index, count = parse_shard(shard)
    if count != len(starts[env_id]):
        raise ShardError(f"{env_id} has {len(starts[env_id])} op shards, not {count}")
    names = ranges(list(ops), starts[env_id])[index - 1]
    dtypes = sorted({case[len(name) + 1:] for name in names for case in ops[name]})
    if not names:  # a range the corpus no longer has ops in: matches no case id (the run says so)
        return r"^\b$"
    return "^(?:" + "|".join(map(re.escape, names)) + r")\.(?:" + "|".join(map(re.escape, dtypes)) + ")$"


# -- the workflow's job list ----------------------------------------------------------------------------------

def plan(lineup: list[Entry] | None = None, starts: dict[str, list[str]] | None = None,
         sources: dict[str, Any] | None = None) -> dict[str, list[dict[str, str]]]:
    """Every job of the workflow's `environment` matrix: ``entries`` (one pitfall run per lineup entry) and
    ``ops`` (each entry's op shards), each with where its Python comes from (matrix/run/pythons.py)."""
    from matrix.run.pythons import resolve

    lineup = load_lineup() if lineup is None else lineup
    starts = load_split() if starts is None else starts
    entries, ops = [], []
    for entry in lineup:
        python = resolve(entry, sources).fields()
        entries.append({"name": f"matrix({entry.id})", "kind": "pitfalls", "id": entry.id,
                        "session": f"matrix({entry.id})", "args": "", "artifact": f"shard-{entry.id}", **python})
        if not entry.runs_op_corpus:
            continue
        if entry.id not in starts:
            raise ShardError(f"lineup entry {entry.id} has no op shards in {SPLIT_FILE.name}: "
                             "python -m matrix.run.shards write")
        count = len(starts[entry.id])
        for index in range(1, count + 1):
            ops.append({"name": f"ops({entry.id}) {index}/{count}", "kind": "ops", "id": entry.id,
                        "session": "ops", "args": f"--env {entry.id} --shard {index}/{count}",
                        "artifact": f"ops-{entry.id}-{index}of{count}", **python})
    return {"entries": entries, "ops": ops}


def shard_posargs(posargs: list[str]) -> list[str]:
    """``nox -s ops`` arguments with ``--shard K/N`` turned into that op range's ``--cases`` (one --env only)."""
    if "--shard" not in posargs:
        return list(posargs)
    at = posargs.index("--shard")
    if at + 1 >= len(posargs):
        raise ShardError("--shard needs K/N")
    envs = [posargs[i + 1] for i, arg in enumerate(posargs[:-1]) if arg == "--env"]
    if len(envs) != 1:
        raise ShardError("--shard K/N needs exactly one --env: the op ranges are per entry")
    rest = posargs[:at] + posargs[at + 2:]
    return [*rest, "--cases", shard_cases(envs[0], posargs[at + 1])]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m matrix.run.shards", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plan", help="the workflow's jobs as JSON: {entries: [...], ops: [...]}")
    sub.add_parser("write", help=f"recompute the op ranges from results/ops into {SPLIT_FILE.name}")
    cases = sub.add_parser("cases", help="the --cases regular expression of one op shard")
    cases.add_argument("env")
    cases.add_argument("shard", help="K/N")
    combine = sub.add_parser("combine", help="op shards of one run into one out folder per environment")
    combine.add_argument("shards", nargs="+", type=Path)
    combine.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "plan":
            print(json.dumps(plan()))
        elif args.command == "write":
            SPLIT_FILE.write_text(json.dumps(compute_split(), indent=1) + "\n")
            print(f"wrote {SPLIT_FILE.relative_to(REPO_ROOT)}")
        elif args.command == "combine":
            from matrix.results.combine import combine as combine_shards

            for folder in combine_shards(args.shards, args.out):
                print(folder)
        else:
            print(shard_cases(args.env, args.shard))
    except (ShardError, LookupError, ResultsError) as exc:
        print(f"error: {exc}", file=__import__("sys").stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
