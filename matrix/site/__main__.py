"""``python3 -m matrix.site``: see matrix/site/cli.py."""
import sys

from matrix.site.cli import main

sys.exit(main())
