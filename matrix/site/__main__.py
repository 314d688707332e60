"""``python3 -m matrix.site``: see matrix/views/site/cli.py."""
import sys

from matrix.views.site.cli import main

sys.exit(main())
