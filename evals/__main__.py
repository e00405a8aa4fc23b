"""`python -m evals ...`: the same command as `parley evals ...` (evals/cli.py)."""

import sys

from evals.cli import main

sys.exit(main())
