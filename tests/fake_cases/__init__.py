"""A corpus for testing the harness's isolation: each case misbehaves in its own way."""
