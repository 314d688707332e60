"""A stand-in worker for the bench's host-cost measurement ONLY: it answers every cell at once with a copy
of a real row, so what the bench times at 10,000 cells is the host alone (planning, framing, rows written,
the resume index, skips, the console), not torch. Never used by the product or the tests.

The host starts it as it starts the real worker (``PYTHON -u -m matrix.worker ARGS``) through a small
wrapper script given as ``--python``; it takes the real worker's arguments, discovers the cases with the
real discovery (tiny cases that import nothing) and speaks the real protocol. The environment variable
``MATRIX_BENCH_HOST_ONLY`` names a JSON file holding ``capabilities``, ``versions`` and a ``row`` template.
"""
from __future__ import annotations

import json
import os
import sys

from matrix.adapters import EXPORTERS, RUNTIMES
from matrix.wire import Cell, protocol
from matrix.worker.__main__ import _parse
from matrix.worker.discovery import load_all

WRAPPER = """#!/bin/sh
# the host runs "$0 -u -m matrix.worker ARGS" for a worker: the bench's stand-in takes the same ARGS
if [ "$1" = "-u" ] && [ "$3" = "matrix.worker" ]; then
    shift 3
    exec {python} -m matrix.run.bench_fake_worker "$@"
fi
exec {python} "$@"
"""


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    frames = os.fdopen(args.frames_fd, "wb", buffering=0)
    with open(os.environ["MATRIX_BENCH_HOST_ONLY"], encoding="utf-8") as handle:
        given = json.load(handle)
    names = {"exporters": sorted(EXPORTERS), "runtimes": sorted({a.runtime for a in RUNTIMES.values()}),
             "providers": sorted({a.provider for a in RUNTIMES.values()})}
    _, catalogue = load_all(args.cases_dir, names, args.exclude)
    protocol.send(frames, {"type": "hello", "pid": os.getpid(), "versions": given["versions"],
                           "capabilities": given["capabilities"], "catalogue": catalogue, "start_s": {"imports": 0.0}})
    hashes = {entry["id"]: entry.get("case_hash") for entry in catalogue}
    for line in sys.stdin.buffer:
        request = protocol.decode(line)
        if request is None or request["type"] == "exit":
            break
        seq, key = request.get("seq"), request.get("key")
        protocol.send(frames, {"type": "started", "seq": seq, "cell": key})
        cell = Cell.from_dict(request["cell"])
        row = dict(given["row"], **cell.identity(), case_hash=hashes.get(cell.case))  # a real row's size and text
        protocol.send(frames, {"type": "row", "seq": seq, "cell": key, "row": row})
    return 0


if __name__ == "__main__":
    sys.exit(main())
