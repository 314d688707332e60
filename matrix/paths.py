"""Where the project's folders are, computed once: the repository root, the corpus, the out and
results folders, the environments and the templates. Host code asks here instead of walking up
from its own file."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE.parent
CASES_DIR = REPO_ROOT / "cases"
DEFAULT_OUT = REPO_ROOT / "reports"  # what a run writes
RESULTS_DIR = REPO_ROOT / "results"  # the published reference (tracked)
SITE_DIR = REPO_ROOT / "site"  # the static site built from it
CACHE_DIR = REPO_ROOT / ".cache"
ENVS_DIR = Path(os.environ.get("MATRIX_ENVS_DIR", REPO_ROOT / ".envs"))
LINEUP_FILE = PACKAGE / "envs" / "lineup.toml"
SEED_CLAIMS_FILE = PACKAGE / "views" / "seed_claims.toml"
TEMPLATES_DIR = PACKAGE / "views" / "html" / "templates"
WORKER_DIR = PACKAGE / "worker"  # in-environment code the reproductions ship as source
