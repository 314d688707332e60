"""``publish``: finished runs of an out folder made the reference results (results/), history kept."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.envs.lineup import by_id
from matrix.paths import DEFAULT_OUT, RESULTS_DIR
from matrix.results.store import ResultsError

NAME = "publish"
HELP = "make finished runs the reference results (results/), keeping history"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", type=Path, default=DEFAULT_OUT, help="out folder (default reports/)")
    parser.add_argument("--to", dest="target", type=Path, default=RESULTS_DIR, help="results folder (default results/)")
    parser.add_argument("--env", action="append", help="environment id (repeatable; default every finished one)")
    parser.add_argument("--run", help="publish this run (default: each environment's newest finished run)")
    parser.add_argument("--no-exports", dest="exports", action="store_false",
                        help="leave the exported files out (the operator corpus: a reproduction rebuilds them)")
    parser.add_argument("--repack", action="store_true",
                        help="publish nothing: rewrite --to's rows still in JSON Lines (.jsonl.gz) as Parquet")
    parser.add_argument("--compact-history", action="store_true",
                        help="publish nothing: keep only what changed in --to's superseded runs (the rows a newer run "
                        "repeats go; the newest run of each environment is never touched)")
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.results.publish import environments, publish, publish_replays, references
    from matrix.results.readme import write_readme
    source, target = args.source.resolve(), args.target.resolve()
    if args.repack:
        return _repack(target)
    if args.compact_history:
        return _compact(target)
    envs = args.env or environments(source)
    if not envs:
        raise ResultsError(f"nothing to publish: no finished run under {source / 'runs'}")
    entries = by_id(common.lineup_or_none(args.lineup))
    for item in publish(source, target, envs, entries, args.run, exports=args.exports):
        print(f"{item.env_id:<14} run {item.run_id}: {item.rows} rows, {item.replay_rows} replay rows, "
              f"{item.exports} exported files, {item.bytes / 2 ** 20:.2f} MiB")
        for line in item.left_out:
            common.eprint(f"publish: {line}")
    for env_id in envs:  # what its runtimes gave on the reference's own files (replay --from results)
        added = publish_replays(source, target, env_id)
        if added:
            print(f"{env_id:<14} {added} replay rows on files of earlier published runs")
    publish_op_registries(source, target, args.env)
    write_readme(target, references(target))
    return 0


def publish_op_registries(source: Path, target: Path, envs: list[str] | None) -> None:
    """The op corpus's registry files (``ops registry``) go beside its rows: reports/ops/registry -> results/ops."""
    from matrix.results.registry import publish_registry, registry_path
    for env_id in publish_registry(source, target, envs):
        print(f"{env_id:<14} registry facts: {registry_path(target, env_id)}")


def _compact(target: Path) -> int:
    from matrix.results.compact import compact_history
    from matrix.results.publish import references
    from matrix.results.readme import write_readme
    for item in compact_history(target):
        print(f"{item.run_id} {item.stem}: {item.before} rows, {item.after} kept (the rest repeated by a newer run)")
    write_readme(target, references(target))
    return 0


def _repack(target: Path) -> int:
    from matrix.results.publish import references, repack
    from matrix.results.readme import write_readme
    done = repack(target)
    for path, before, after in done:
        print(f"{path.relative_to(target)}: {before / 2 ** 20:.2f} MiB as .jsonl.gz, {after / 2 ** 20:.2f} MiB as Parquet")
    total = sum(before for _, before, _ in done), sum(after for _, _, after in done)
    print(f"{len(done)} rows files repacked: {total[0] / 2 ** 20:.2f} MiB before, {total[1] / 2 ** 20:.2f} MiB after")
    write_readme(target, references(target))
    return 0
