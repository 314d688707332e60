"""``site``: the static compatibility site (site/) built from published results (results/)."""
from __future__ import annotations

import argparse

NAME = "site"
HELP = "build the static site (site/) from published results (results/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from matrix.views.site.cli import add_arguments as site_arguments
    site_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.views.site.cli import run as build
    return build(args)
