"""Several lineup environments at once, in threads of the host, within --jobs workers in all.

Each environment takes one worker slot while it runs; once no environment waits for a slot, a
running one may take more for extra workers (whole cases each), so a slow environment does not
leave a core idle. Threads suffice: the host only waits on workers and appends rows. Latency
stays honest because no two workers sample latencies at the same moment (a lock around each
timing phase), and every row records how many workers ran at once (``concurrent_workers``) and
the cores the harness had. A stop (Ctrl-C, SIGTERM) reaches every environment: no worker is
restarted after it, and each one's process group is killed.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
from typing import Any, Callable

from matrix.run.lanes import Slots, Stopped
from matrix.run.runner import EnvRunner


def default_jobs() -> int:
    """As many workers at once as the machine has cores, and memory for (about 4 GiB each)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return max(1, min(cores, int(memory_gib // 4) or 1))


@dataclasses.dataclass
class Task:
    """One environment to run: how to make its runner (building its environment first, if it must)."""

    env_id: str
    make_runner: Callable[[], EnvRunner]
    result: Any = None
    error: BaseException | None = None
    runner: EnvRunner | None = None


def run_all(tasks: list[Task], slots: Slots, on_start: Callable[[str], None] = lambda e: None) -> list[Task]:
    """Run the tasks, each in a worker slot, in lineup order of start; return them with result or error.

    KeyboardInterrupt and SIGTERM (raised in this, the main, thread) stop every environment:
    their workers are killed at once, and the exception is raised again once all have stopped.
    """
    pending = list(tasks)
    running: list[tuple[Task, threading.Thread]] = []
    stop = threading.Event()

    def work(task: Task) -> None:
        try:
            if stop.is_set():
                raise Stopped()
            task.runner = task.make_runner()
            task.runner.abort = stop
            task.result = task.runner.run()
        except BaseException as exc:  # handed to the main thread, which decides
            task.error = exc
        finally:
            slots.give()

    try:
        while pending or running:
            running = [(t, th) for t, th in running if th.is_alive()]
            slots.waiting = len(pending)
            while pending and slots.take():
                task = pending.pop(0)
                slots.waiting = len(pending)
                on_start(task.env_id)
                thread = threading.Thread(target=work, args=(task,), name=f"env {task.env_id}", daemon=True)
                thread.start()
                running.append((task, thread))
            time.sleep(0.05)
    except BaseException:
        stop.set()
        for task, _ in running:
            if task.runner is not None:
                task.runner._close(interrupted=True)  # every lane of it
        deadline = time.monotonic() + 20
        for _, thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))
        raise
    return tasks
