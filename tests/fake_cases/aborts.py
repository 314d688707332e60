"""A case that kills the worker (SIGABRT) in build(): its cells are crash rows."""
import os

from matrix.worker.spec import Case

CASE = Case(title="aborts", pitfall="a native crash, like torch 1.4's checker segfault")


def build():
    os.abort()
