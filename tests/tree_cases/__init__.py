"""A case that hangs with a child process of its own."""
