"""``repro CELL``: a cell's self-contained reproduction (repro.py and run.sh) written into a folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from matrix.commands import common
from matrix.envs.lineup import by_id

NAME = "repro"
HELP = "write a cell's self-contained reproduction into a folder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("cell", help="a cell key (as in the report), or FILE:LINE of a row in a results file")
    parser.add_argument("--env", help="the environment whose row to reproduce, when several have the cell")
    parser.add_argument("--to", type=Path, help="folder to write repro.py and run.sh into (default repro-<case>)")
    common.add_out(parser)
    common.add_lineup(parser)


def run(args: argparse.Namespace) -> int:
    from matrix.results.read import Results, case_in
    from matrix.results.safe import inside, slug
    from matrix.views.repro import ReproError, build_script, row_from_file, write_folder
    entries = by_id(common.lineup_or_none(args.lineup))
    results = Results(args.out.resolve())
    if ":" in args.cell and Path(args.cell.rpartition(":")[0]).is_file():
        row = row_from_file(args.cell)
        run = results.run(str(Path(args.cell.rpartition(":")[0]).resolve().parent))
    else:
        view = results.rows()
        view = view[(view["cell"] == args.cell) & (view["env_id"] == args.env if args.env else True)]
        if view.empty:
            raise ReproError(f"no row of cell {args.cell!r}{' in ' + args.env if args.env else ''} under {args.out}")
        envs = sorted(set(view["env_id"]))
        if len(envs) > 1:
            raise ReproError(f"cell {args.cell!r} has rows in {', '.join(envs)}: say which with --env")
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in view.iloc[-1].to_dict().items()}
        run = results.run(row["run_id"])
    case = case_in(run, row["env_id"], row["case"]) or results.catalogue().get(row["case"])
    script, commands = build_script(row, case, entries.get(row["env_id"]),
                                    entries.get(row.get("runtime_env") or row["env_id"]))
    # without --to, a folder here named after the case: its id is a row's text, so slugged and kept here
    folder = write_folder(args.to or inside(Path.cwd(), f"repro-{slug(row['case'])}"), script, commands)
    print(f"{folder}/repro.py: {row['status']} of {row['cell']} in {row['env_id']}")
    print(f"run it: sh {folder}/run.sh   (or: python {folder}/repro.py in an environment with the pins)")
    return 0
