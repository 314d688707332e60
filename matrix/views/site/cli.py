"""``python3 -m matrix.site --from results --out site``: build the site and say what was written.

``add_arguments`` and ``run`` are what ``python3 -m matrix site`` needs to offer the same
command. Exit codes: 0 built; 2 a --from that is not a folder, or a site that cannot be
written, with a message and no traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from matrix.paths import RESULTS_DIR, SITE_DIR

MiB = 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--from", dest="source", type=Path, default=RESULTS_DIR,
                        help="the results folder to read (default results/)")
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="where to write the site (default site/)")
    lineup = os.environ.get("MATRIX_LINEUP")
    parser.add_argument("--lineup", type=Path, default=Path(lineup) if lineup else None,
                        help="the lineup file that orders the environments (default matrix/envs/lineup.toml, or $MATRIX_LINEUP)")
    return parser


def run(args: argparse.Namespace) -> int:
    """Build the site the parsed arguments ask for."""
    from matrix.envs.lineup import LineupError, load_lineup
    from matrix.views.site.build import PAGE_LIMIT, build_site

    if not args.source.is_dir():
        print(f"error: {args.source}: no such results folder", file=sys.stderr)
        return 2
    lineup = None  # the lineup file of this checkout
    if args.lineup is not None:
        try:
            lineup = load_lineup(args.lineup)
        except LineupError as exc:  # the site still builds, environments in name order (as the report does)
            print(f"warning: {exc}; environments are shown in name order", file=sys.stderr)
            lineup = []
    try:
        built = build_site(args.source, args.out, lineup=lineup)
    except OSError as exc:
        print(f"error: {exc.filename or args.out}: cannot be written ({exc.strerror or exc})", file=sys.stderr)
        return 2
    for problem in built.problems:
        print(f"site: {problem}", file=sys.stderr)
    page, size = built.largest
    print(f"site: {len(built.pages)} pages and {built.repros} reproductions in {built.seconds:.1f} s; "
          f"largest page {page} ({size / 1024:.0f} KiB); open {built.index}", file=sys.stderr)
    for page in built.oversized:
        print(f"site: warning: {page} is over {PAGE_LIMIT // MiB} MiB", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="python3 -m matrix.site",
                                                   description="build the static compatibility site"))
    return run(parser.parse_args(argv))
