"""`python -m app` runs the `scorer` command."""

import sys

from app.cli import main

sys.exit(main())
