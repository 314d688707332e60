"""A case whose build() raises: its cells are build-fail, nothing else is affected."""
from matrix.worker.spec import Case

CASE = Case(title="raises", pitfall="a bug in the case itself")


def build():
    raise ValueError("this case is broken on purpose <script>alert(1)</script>")
