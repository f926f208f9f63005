"""Silence third-party progress bars and warnings; the harness shows its own progress.

`datasets` draws bars while it builds a local dataset ("Generating test split", "Map") and
transformers while it loads local weights ("Loading weights"); between the harness's own progress
lines they read as noise, or as a hang. Both are silenced. Downloads from the Hugging Face Hub
keep their bars (huggingface_hub's own, left alone): a large download without one looks hung.
The libraries' own warnings and log records below ERROR (a deprecation in torch, datasets'
"Using the latest cached version", huggingface_hub's retries) are silenced too; the harness's
own warnings stay. A user's explicit `HF_DATASETS_DISABLE_PROGRESS_BARS=0` wins, and so does
`--verbose`: with the root logger at INFO or below (what `harness -v` sets), bars, warnings and
log records are left alone.

On a terminal every log record starts by clearing the current line (`\r` + erase line), so a
record never lands on the end of the live progress line, in the driver or in a job's worker
process; the live line is redrawn below it (harness/cli/progress_display.py).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import warnings
from typing import Any

THIRD_PARTY = (
    "datasets",
    "huggingface_hub",
    "transformers",
    "torch",
    "foolbox",
    "fairlearn",
    "sklearn",
    "PIL",
    "pandas",
    "numpy",
    "pyarrow",
    "fsspec",
    "filelock",
    "urllib3",
    "httpx",
    "onnxruntime",
    "ray",
)
"""Libraries whose warnings and log records (below ERROR) are silenced unless --verbose."""
CLEAR_LINE = "\r\x1b[K"
KEPT_WARNINGS = (
    # scikit-learn unpickling a model saved by another version: its predictions may differ
    r"Trying to unpickle estimator",
)
"""Library warnings that speak to the numbers' correctness: shown even when the rest is quiet."""


def _empty_bar(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    from transformers.utils.logging import EmptyTqdm

    return EmptyTqdm(*args, **kwargs)


def library_progress_wanted() -> bool:
    """True under `--verbose` (the root logger at INFO or below): third-party bars stay."""
    return logging.getLogger().getEffectiveLevel() <= logging.INFO


def quiet_library_progress(*, transformers: bool = False) -> None:
    """Silence datasets' bars (now, or when it is imported) and, with `transformers`, its bars.

    `transformers` imports transformers' logging module (about a second of CPU), so the runner
    asks for it only when a model of the plan uses a Hugging Face adapter. Does nothing under
    `--verbose` (`library_progress_wanted`).
    """
    logs_clear_the_line()
    if library_progress_wanted():
        return
    if "datasets" in sys.modules:
        if os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS", "").upper() not in ("0", "FALSE"):
            import datasets

            datasets.disable_progress_bars()
    else:
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    if transformers and importlib.util.find_spec("transformers") is not None:
        from transformers.utils import logging as hf_logging

        hf_logging.set_tqdm_hook(_empty_bar)
    quiet_library_warnings()


def quiet_library_warnings() -> None:
    """The libraries' warnings (`warnings.warn` from their modules) ignored and their loggers
    raised to ERROR, unless --verbose."""
    if library_progress_wanted():
        return
    pattern = r"(" + "|".join(THIRD_PARTY) + r")(\.|$)"
    warnings.filterwarnings("ignore", module=pattern)
    for message in KEPT_WARNINGS:  # checked before the filter above (inserted in front of it)
        warnings.filterwarnings("default", message=message)
    for name in THIRD_PARTY:
        logger = logging.getLogger(name)
        if logger.level != logging.ERROR:  # setLevel clears every logger's cache, each call
            logger.setLevel(logging.ERROR)


class _ClearingFormatter(logging.Formatter):
    """Puts `CLEAR_LINE` before each record written to a terminal."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return CLEAR_LINE + self.inner.format(record)


def logs_clear_the_line() -> None:
    """Root handlers that write to a terminal start each record by clearing the line."""
    for handler in logging.getLogger().handlers:
        stream = getattr(handler, "stream", None)
        if not isinstance(handler, logging.StreamHandler) or not _is_terminal(stream):
            continue
        if not isinstance(handler.formatter, _ClearingFormatter):
            handler.setFormatter(_ClearingFormatter(handler.formatter or logging.Formatter()))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
