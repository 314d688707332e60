"""Always fails where its expectations say it passes: a regression that a second run confirms."""
from matrix.wire import Case

CASE = Case(title="always fails", pitfall="a regression")


def build():
    raise ValueError("broken for good")
