"""``python -m matrix``: see matrix/cli.py."""
import sys

from matrix.commands import main

sys.exit(main())
