"""`python -m scoring_runtime` runs the `scorer` command."""

import sys

from scoring_runtime.cli import main

sys.exit(main())
