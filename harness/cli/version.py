"""`harness --version`: the harness, torch and Python versions and the device a run would use.

torch is imported only when the flag is given, so every other command keeps its light start.
"""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from typing import Any, NoReturn

from harness.core.version import __version__


def version_text() -> str:
    """Four lines: harness, torch, Python, device (what `--device auto` picks, with its name)."""
    lines = [f"harness {__version__}"]
    try:
        import torch
    except ImportError:  # the results side runs without torch; say so instead of failing
        return "\n".join([*lines, "torch not installed", _python_line(), "device: cpu"])
    from harness.run.environment import device_info, resolve_device

    device = resolve_device("auto")
    info = device_info(device)
    cuda = f" (CUDA {torch.version.cuda})" if torch.version.cuda else " (CPU build)"
    lines += [f"torch {torch.__version__}{cuda}", _python_line()]
    lines.append(f"device: {device} ({info['name']})")
    return "\n".join(lines)


def _python_line() -> str:
    return f"Python {platform.python_version()} ({platform.python_implementation()})"


class VersionRequested(Exception):  # noqa: N818 - a request, not an error
    """Raised by `--version` while the command line is parsed; `main` prints and returns 0."""


class VersionAction(argparse.Action):
    """`--version`: stops parsing (no subcommand needed) so that `main` prints `version_text()`
    and returns 0; raised rather than exiting so `main(["--version"])` returns like any command."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> NoReturn:
        raise VersionRequested
