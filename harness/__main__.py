"""`python -m harness` runs the CLI."""

import sys

from harness.cli.main import main

sys.exit(main())
