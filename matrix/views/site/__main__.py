"""``python3 -m matrix.views.site`` (or ``python3 -m matrix.site``): see cli.py here."""
import sys

from matrix.views.site.cli import main

sys.exit(main())
