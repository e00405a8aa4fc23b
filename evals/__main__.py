"""`python -m evals ...`: see evals/cli.py."""

import sys

from evals.cli import main

sys.exit(main())
