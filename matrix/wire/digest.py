"""The sha256 of a file, read in blocks: what an export records of its files and what publish and replay check
them against. Stdlib only, Python 3.7: host and worker both import it."""
from __future__ import annotations

import hashlib


def sha256_of(path: object) -> str:
    digest = hashlib.sha256()
    with open(str(path), "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
