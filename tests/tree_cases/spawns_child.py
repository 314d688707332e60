"""Starts a child process, records its pid, then hangs: a timeout must kill the child too."""
import os
import subprocess
import time

from matrix.wire import Case

CASE = Case(title="spawns a child and hangs", pitfall="a hang with a process tree", timeout=3)


def build():
    child = subprocess.Popen(["sleep", "600"])
    with open(os.environ["MATRIX_TEST_PIDFILE"], "w") as handle:
        handle.write(str(child.pid))
    time.sleep(600)
