"""``python -m matrix COMMAND``: the harness without nox, one module per command in this package.

Each module here (but ``common``) is a command, found by discovery: it names itself (``NAME``), says
what it does in a line (``HELP``), declares its arguments (``add_arguments``) and runs (``run``).

Exit codes: 0 done; 1 a regression (or a broken case, or a failed environment);
2 bad input (arguments, lineup, results), always with a message naming the value; 3 (``compare``)
cells of BASE missing or unreadable in NEW.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
from types import ModuleType

from matrix.commands.common import eprint

NOT_COMMANDS = {"common"}


class Terminated(BaseException):
    """SIGTERM (what CI runners and `timeout` send): stop like Ctrl-C, with exit status 143."""


def _stop(signum, frame) -> None:
    """The first SIGINT or SIGTERM stops the run; later ones are ignored while it cleans up (seconds),
    so a second Ctrl-C cannot leave the worker's children behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def commands() -> dict[str, ModuleType]:
    """Every command module of this package, by the name users type."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name not in NOT_COMMANDS and not info.name.startswith("_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[module.NAME] = module
    return dict(sorted(found.items()))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m matrix", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in commands().items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    from matrix.envs.lineup import LineupError
    from matrix.results.store import ResultsError, StorageError
    from matrix.run.plan import SelectionError
    from matrix.views.repro import ReproError
    args = build_parser().parse_args(argv)
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        return args.handler(args)
    except (SelectionError, LineupError, ResultsError, ReproError, StorageError) as exc:
        eprint(f"error: {exc}")
        return 2
    except BrokenPipeError:  # `... | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a path the system refuses (too long, a loop of links, no permission): one line
        if exc.filename is None:
            raise
        name = str(exc.filename)
        eprint(f"error: {name if len(name) <= 160 else name[:80] + '...' + name[-60:]}: {exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        eprint("interrupted: rows written so far are kept; the same command resumes")
        return 130
    except Terminated:
        eprint("terminated: rows written so far are kept; the same command resumes")
        return 128 + signal.SIGTERM
    finally:
        if signal.getsignal(signal.SIGINT) is _stop:  # not stopped: give the caller its handlers back
            for number, handler in previous.items():
                signal.signal(number, handler)
