"""The `harness` command line (entry point `harness.cli:main`); see `harness.cli.main`."""

from harness.cli.main import build_parser, main, quickstart_spec_path

__all__ = ["build_parser", "main", "quickstart_spec_path"]
