"""Where uv is: on PATH, or beside this interpreter (``pip install uv`` into a venv that is not activated)."""
from __future__ import annotations

import os
import shutil
import sys


def which_uv() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    return shutil.which("uv") or (beside if os.access(beside, os.X_OK) else None)
