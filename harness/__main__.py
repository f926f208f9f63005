"""`python -m harness` runs the CLI."""

import sys

from harness.cli.main import main

if __name__ == "__main__":  # not when a spawned child (the Ray driver process) imports it
    sys.exit(main())
