"""The worker: imports torch once, describes the environment, then runs the cells the host sends.

    python -m matrix.worker --frames-fd N --cases-dir cases --exports-dir DIR

Requests arrive on stdin, one JSON object a line; frames leave on fd N (see wire/protocol.py).
Stdout is pointed at stderr before anything is imported, so nothing can corrupt a frame.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m matrix.worker")
    parser.add_argument("--frames-fd", type=int, required=True)
    parser.add_argument("--cases-dir", action="append", required=True)
    parser.add_argument("--exports-dir", required=True)
    parser.add_argument("--exclude", action="append", default=[], help="case ids not to import")
    parser.add_argument("--time-budget", type=float, default=1.0, help="seconds of latency sampling per cell")
    parser.add_argument("--memory-limit-mb", type=int, default=0, help="address-space limit of this process")
    parser.add_argument("--timing-lock", help="a file every worker of the run locks while it samples latencies, "
                        "so environments running at once never time at the same moment")
    parser.add_argument("--planned", default="", help="the exporters and runtimes the host plans to use: only "
                        "these are probed, and each is used once on a tiny model before the clean slate is taken")
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


def _isolate(args):
    """The worker's own channel and limits: the result pipe (never inherited, let go of by forked children),
    stdout to the log, the address-space limit. Returns the pipe."""
    _die_with_parent()
    os.set_inheritable(args.frames_fd, False)  # a case's subprocesses never get the result pipe
    frames = os.fdopen(args.frames_fd, "wb", buffering=0)

    def forked_child() -> None:
        """A case forked (a pool, a stray os.fork()): the child lets go of the result pipe at once."""
        try:
            os.close(args.frames_fd)
        except OSError:
            pass
    os.register_at_fork(after_in_child=forked_child)
    os.dup2(2, 1)  # exporters print to stdout; send it to the log, never to the host
    sys.stdout = sys.stderr
    if args.memory_limit_mb:
        import resource
        limit = args.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return frames


def _load_cases(args, names, send, slate):
    """The corpus, each case imported under watch: one that changes the process when imported is named
    broken and the change undone. Returns (cases, catalogue, slate) or None when the corpus cannot run."""
    from matrix.wire import CaseError
    from matrix.worker.discovery import DuplicateCaseError, load_all
    from matrix.worker.slate import Slate
    leaks = {}

    def imported(case_id: str) -> None:
        changes = slate.changes()
        if changes:
            leaks[case_id] = changes
            slate.restore()

    try:
        cases, catalogue = load_all(args.cases_dir, names, args.exclude,
                                    lambda case_id: send({"type": "importing", "case": case_id}), imported)
    except (DuplicateCaseError, CaseError) as exc:
        send({"type": "fatal", "error": str(exc)})
        return None
    for entry in catalogue:
        if entry["id"] in leaks:
            cases.pop(entry["id"], None)
            entry.update(error="%s: changes the worker's global state when imported: %s"
                         % (entry["file"], "; ".join(leaks[entry["id"]])))
    return cases, catalogue, (Slate() if leaks else slate)


def _serve(pipeline, send, current, owner) -> int:
    """Answer requests from stdin until the host says exit: 0, or 3 when the disk (not a case) failed."""
    from matrix.wire import protocol
    from matrix.worker import faults
    from matrix.worker.pipeline import StorageFault
    for line in sys.stdin.buffer:
        if os.getpid() != owner:
            os._exit(0)
        request = protocol.decode(line)
        if request is None or request["type"] == "exit":
            break
        current.update(seq=request.get("seq"), key=request.get("key"))
        send({"type": "started", "seq": current["seq"], "cell": current["key"]})
        if request["type"] == "registry":  # the op corpus's registry pass: facts about cases, not a cell's row
            from matrix.worker.registry import answer
            send({"type": "row", "seq": current["seq"], "cell": current["key"],
                  "row": answer(pipeline.cases, request)})
            continue
        try:
            row = pipeline.replay_cell(request) if request["type"] == "replay" else pipeline.run_cell(request)
        except StorageFault as fault:  # the disk, not the case: the host stops the run and says so
            send({"type": "fault", "seq": current["seq"], "cell": current["key"], "error": str(fault)})
            return 3
        send({"type": "row", "seq": current["seq"], "cell": row.cell, "row": row.to_dict()})
        faults.maybe_inject(row.case or "", "after")  # a death between cells, for the tests
    return 0


def main(argv=None) -> int:
    started = time.monotonic()
    args = _parse(argv)
    owner = os.getpid()
    frames = _isolate(args)
    timings = {}

    def lap(name: str) -> None:
        """Where the worker's start goes: reported in the hello frame (nox -s bench prints it)."""
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 3)

    from matrix.adapters import EXPORTERS, RUNTIMES
    from matrix.wire import protocol
    from matrix.worker import environment, faults  # noqa: F401  (environment imports onnx, then torch)
    from matrix.worker.discovery import importable
    from matrix.worker.pipeline import Pipeline, StorageFault, warm_up  # noqa: F401  (before the slate is taken)
    from matrix.worker.slate import Slate
    lap("imports")

    def send(frame) -> None:
        if os.getpid() != owner:  # a forked child of a case never speaks for the worker, nor runs its loop
            os._exit(0)
        protocol.send(frames, frame)

    names = {"exporters": sorted(EXPORTERS), "runtimes": sorted({a.runtime for a in RUNTIMES.values()}),
             "providers": sorted({a.provider for a in RUNTIMES.values()})}
    planned = [name for name in args.planned.split(",") if name] or list(EXPORTERS) + list(RUNTIMES)
    versions = environment.versions()
    capabilities = environment.capabilities(planned)
    lap("probes")
    importable(args.cases_dir)
    warm_up(planned, capabilities, args.exports_dir)
    from matrix.worker import hfmodels
    hfmodels.preload(args.cases_dir, capabilities, versions)  # transformers patches torch: before the slate
    lap("warm_up")
    loaded = _load_cases(args, names, send, Slate())  # the slate: after every import the pipeline needs
    if loaded is None:
        return 2
    cases, catalogue, slate = loaded
    lap("cases")
    send({"type": "hello", "pid": owner, "versions": versions, "capabilities": capabilities, "catalogue": catalogue,
          "start_s": timings})
    current = {}  # the request being answered: every frame names it

    def on_stage(stage: str) -> None:
        send({"type": "stage", "stage": stage, "seq": current.get("seq"), "cell": current.get("key")})

    pipeline = Pipeline(cases, capabilities, versions, args.exports_dir, on_stage, time_budget_s=args.time_budget,
                        slate=slate, timing_lock=args.timing_lock)
    return _serve(pipeline, send, current, owner)


if __name__ == "__main__":
    sys.exit(main())
