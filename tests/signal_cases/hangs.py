"""Starts a child process, records its pid, then hangs for ten minutes (its own timeout)."""
import os
import subprocess
import time

from matrix.wire import Case

CASE = Case(title="hangs with a child", pitfall="a run stopped by a signal mid-cell", timeout=600)


def build():
    child = subprocess.Popen(["sleep", "600"])
    with open(os.environ["MATRIX_TEST_PIDFILE"], "w") as handle:
        handle.write(str(child.pid))
    time.sleep(600)
