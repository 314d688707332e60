"""``python -m matrix``: see matrix/cli.py."""
import sys

from matrix.cli import main

sys.exit(main())
