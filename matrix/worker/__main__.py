"""The worker: imports torch once, describes the environment, then runs the cells the host sends.

    python -m matrix.worker --frames-fd N --cases-dir cases --exports-dir DIR

Requests arrive on stdin, one JSON object a line; frames leave on fd N (see wire/protocol.py).
Stdout is pointed at stderr before anything is imported, so nothing can corrupt a frame.
"""
from __future__ import annotations

import argparse
import os
import sys


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m matrix.worker")
    parser.add_argument("--frames-fd", type=int, required=True)
    parser.add_argument("--cases-dir", action="append", required=True)
    parser.add_argument("--exports-dir", required=True)
    parser.add_argument("--exclude", action="append", default=[], help="case ids not to import")
    parser.add_argument("--time-budget", type=float, default=1.0, help="seconds of latency sampling per cell")
    parser.add_argument("--memory-limit-mb", type=int, default=0, help="address-space limit of this process")
    return parser.parse_args(argv)


def _die_with_parent() -> None:
    """If the host is killed (kill -9 of the whole run), take the worker down too (Linux)."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv=None) -> int:
    args = _parse(argv)
    _die_with_parent()
    frames = os.fdopen(args.frames_fd, "wb", buffering=0)
    os.dup2(2, 1)  # exporters print to stdout; send it to the log, never to the host
    sys.stdout = sys.stderr
    if args.memory_limit_mb:
        import resource
        limit = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    from matrix.adapters import EXPORTERS, RUNTIMES
    from matrix.wire import CaseError, protocol
    from matrix.worker.discovery import DuplicateCaseError, load_all
    from matrix.worker import environment  # imports onnx, then torch
    from matrix.worker.pipeline import Pipeline

    names = {"exporters": sorted(EXPORTERS), "runtimes": sorted({a.runtime for a in RUNTIMES.values()}),
             "providers": sorted({a.provider for a in RUNTIMES.values()})}
    try:
        cases, catalogue = load_all(args.cases_dir, names, args.exclude,
                                    lambda case_id: protocol.send(frames, {"type": "importing", "case": case_id}))
    except (DuplicateCaseError, CaseError) as exc:
        protocol.send(frames, {"type": "fatal", "error": str(exc)})
        return 2
    versions = environment.versions()
    protocol.send(frames, {"type": "hello", "pid": os.getpid(), "versions": versions,
                           "capabilities": environment.capabilities(), "catalogue": catalogue})
    current = {}  # the request being answered: every frame names it

    def on_stage(stage: str) -> None:
        protocol.send(frames, {"type": "stage", "stage": stage, "seq": current.get("seq"), "cell": current.get("key")})

    pipeline = Pipeline(cases, environment.capabilities(), versions, args.exports_dir, on_stage,
                        time_budget_s=args.time_budget)
    for line in sys.stdin.buffer:
        request = protocol.decode(line)
        if request is None or request["type"] == "exit":
            break
        current.update(seq=request.get("seq"), key=request.get("key"))
        row = pipeline.replay_cell(request) if request["type"] == "replay" else pipeline.run_cell(request)
        protocol.send(frames, {"type": "row", "seq": request.get("seq"), "cell": row.cell, "row": row.to_dict()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
