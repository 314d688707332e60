"""``merge SHARD... --out DIR``: CI shards of one run id gathered into one out folder."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "merge"
HELP = "gather shards' out folders (one run id) into one out folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", type=Path, help="out folders of the shards")
    parser.add_argument("--out", type=Path, required=True)


def run(args: argparse.Namespace) -> int:
    from matrix.results.merge import merge
    runs = merge([p.resolve() for p in args.shards], args.out.resolve())
    print(f"merged {len(args.shards)} shard(s) into {args.out}: run(s) {', '.join(runs)}")
    return 0
