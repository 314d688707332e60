"""A case whose build() raises: its cells are build-fail, nothing else is affected."""
from matrix.wire import Case, Expect

CASE = Case(title="raises", pitfall="a bug in the case itself",
            expect=[Expect("build-fail", match="broken on purpose", reason="it raises on purpose")])


def build():
    raise ValueError("this case is broken on purpose <script>alert(1)</script>")
