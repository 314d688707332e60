"""A case to interrupt: it starts a child process and hangs far longer than any test waits."""
