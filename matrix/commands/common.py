"""Arguments and helpers the commands share, each declared once (as asv's ``common_args``)."""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from matrix.envs.lineup import LineupError, find_entry, load_lineup
from matrix.paths import DEFAULT_OUT, LINEUP_FILE
from matrix.results.store import ResultsError, check_name
from matrix.run.plan import SelectionError


def eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:  # nan and inf are not durations
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number above 0")
    return int(text)


def name(kind: str):
    """An argument that must be a safe name (a run or environment id)."""
    def check(text: str) -> str:
        try:
            return check_name(kind, text)
        except ResultsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return check


def id_list(text: str) -> list[str]:
    """``ID,ID,...``: environment ids, each a safe name, each once."""
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise argparse.ArgumentTypeError(f"{text!r} names no environment")
    return [name("environment id")(part) for part in ids]


def add_lineup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lineup", type=Path, default=Path(os.environ.get("MATRIX_LINEUP", LINEUP_FILE)),
                        help="the lineup file (default matrix/envs/lineup.toml, or $MATRIX_LINEUP)")


def add_out(parser: argparse.ArgumentParser, help: str = "the out folder (default reports/)") -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=help)


def add_timing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=positive, default=300.0, help="seconds per cell (a case may set its own)")
    parser.add_argument("--time-budget", type=positive, default=1.0, help="seconds of latency sampling per cell")


def add_gpu(parser: argparse.ArgumentParser) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--gpu", dest="gpu", action="store_true", default=None,
                        help="install each entry's gpu_runtime (onnxruntime-gpu) instead of onnxruntime, as <id>-gpu "
                             "(the default where nvidia-smi sees a GPU)")
    choice.add_argument("--no-gpu", dest="gpu", action="store_false", help="the CPU onnxruntime even on a GPU machine")


def interpreter(path: str, env_id: str | None) -> tuple[str, str]:
    """A --python interpreter as an absolute path (the worker runs in another cwd), and its rows' env id."""
    python = os.path.abspath(path)
    if not os.access(python, os.X_OK) or os.path.isdir(python):
        raise SelectionError(f"--python {path}: not an executable interpreter")
    return python, check_name("--env-id", env_id or "local-" + Path(python).parent.parent.name)


def lineup_entries(args: argparse.Namespace, ids: list[str] | None):
    """The lineup entries asked for (all without ids), as their GPU variants in GPU mode where they have one."""
    from matrix.envs.gpu import gpu_mode
    entries = load_lineup(args.lineup)
    chosen = [find_entry(entries, env_id) for env_id in ids] if ids else entries
    if args.gpu is False:
        variants = [e.id for e in chosen if e.id.endswith("-gpu") and e.id not in {x.id for x in entries}]
        if variants:
            raise SelectionError(f"--no-gpu, but {', '.join(variants)} is a GPU variant: name its entry "
                                 f"({', '.join(v[:-4] for v in variants)}) instead")
    if gpu_mode(args.gpu):
        plain = [e.id for e in chosen if not e.gpu_runtime and not e.id.endswith("-gpu")]
        if plain and args.gpu:
            eprint(f"note: {', '.join(plain)} name(s) no gpu_runtime: the CPU onnxruntime, CUDA columns skip")
        chosen = [e.for_gpu() if e.gpu_runtime else e for e in chosen]
    return chosen


def lineup_or_none(path: Path):
    """The lineup the views order environments by; a view still renders without one (named on stderr)."""
    try:
        return load_lineup(path)
    except LineupError as exc:
        eprint(f"warning: {exc}; environments are shown in name order")
        return []


def namespace(command: Any, **values: Any) -> argparse.Namespace:
    """A command's arguments as its own parser defaults them, with ``values`` set: how one command runs
    another (gpu runs run and replay) without spelling an argv. A value the command has no argument for
    is a programming error, not a silent extra."""
    parser = argparse.ArgumentParser(add_help=False)
    command.add_arguments(parser)
    defaults = vars(parser.parse_args([]))
    unknown = sorted(set(values) - set(defaults))
    if unknown:
        raise TypeError(f"{command.NAME} has no argument {', '.join(unknown)}")
    return argparse.Namespace(**{**defaults, **values})


def failure_status(error: BaseException | None, lineup: Path) -> int:
    """What an environment's failure says (on stderr), and its exit status: 0 none, 2 bad input, 1 a broken
    environment; anything else (Ctrl-C, SIGTERM, a bug) is raised again."""
    from matrix.envs.build import EnvBuildError, UnresolvablePins
    from matrix.envs.interpreters import InterpreterNotFound
    from matrix.results.store import ResultsError, StorageError
    from matrix.run.lanes import CorpusError, EnvironmentBroken
    if error is None:
        return 0
    if isinstance(error, (InterpreterNotFound, UnresolvablePins)):
        eprint(f"error: {lineup}: {error}")
        return 2
    if isinstance(error, (SelectionError, LineupError, ResultsError, StorageError, CorpusError)):
        eprint(f"error: {error}")
        return 2
    if isinstance(error, (EnvBuildError, EnvironmentBroken)):
        eprint(str(error))
        return 1
    raise error  # Ctrl-C, SIGTERM, or a bug: not this command's to swallow
