"""``python3 -m matrix.views.site``: see matrix/site/cli.py."""
import sys

from matrix.views.site.cli import main

sys.exit(main())
