"""A case that hangs in build(): its cells time out after the case's own limit."""
import time

from matrix.wire import Case, Expect

CASE = Case(title="sleeps", pitfall="a hang", timeout=3,
            expect=[Expect("timeout", match="no result within", reason="it hangs on purpose")])


def build():
    time.sleep(600)
