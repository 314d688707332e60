"""A case that kills the worker (SIGABRT) in build(): its cells are crash rows."""
import os

from matrix.wire import Case, Expect

CASE = Case(title="aborts", pitfall="a native crash, like torch 1.4's checker segfault",
            expect=[Expect("crash", match="SIGABRT", reason="it aborts on purpose")])


def build():
    os.abort()
