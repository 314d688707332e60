"""``python -m matrix``: see matrix/commands/."""
import sys

from matrix.commands import main

sys.exit(main())
