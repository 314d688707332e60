"""A case that hangs in build(): its cells time out after the case's own limit."""
import time

from matrix.worker.spec import Case

CASE = Case(title="sleeps", pitfall="a hang", timeout=3)


def build():
    time.sleep(600)
