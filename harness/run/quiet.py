"""Silence third-party progress bars for local work; the harness shows its own progress.

`datasets` draws bars while it builds a local dataset ("Generating test split", "Map") and
transformers while it loads local weights ("Loading weights"); between the harness's own progress
lines they read as noise, or as a hang. Both are silenced. Downloads from the Hugging Face Hub
keep their bars (huggingface_hub's own, left alone): a large download without one looks hung.
A user's explicit `HF_DATASETS_DISABLE_PROGRESS_BARS=0` wins, and so does `--verbose`: with the
root logger at INFO or below (what `harness -v` sets), the bars are left alone.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from typing import Any


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
