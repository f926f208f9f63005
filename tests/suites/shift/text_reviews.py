"""A review CSV written as a text task, and a bag-of-words callable to score it: the shift
suite's text tests' own data and model (`evaluate(BOW, task=reviews_task(...))`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

BOW: dict[str, Any] = {
    "name": "bow",
    "adapter": "callable",
    "callable": "tests.suites.adversarial.text.planted:bag_of_words_scores",
    "outputs": "probabilities",
    "modality": "text",
}


def reviews_task(
    folder: Path, name: str, texts: Sequence[str], labels: Sequence[int]
) -> dict[str, Any]:
    """`texts` and `labels` written to `folder`/r.csv, as the task `name` (neg, pos)."""
    pd.DataFrame({"text": list(texts), "label": list(labels)}).to_csv(folder / "r.csv", index=False)
    return {
        "name": name,
        "source": str(folder / "r.csv"),
        "split": "test",
        "modality": "text",
        "input_column": "text",
        "label_column": "label",
        "class_names": ["neg", "pos"],
    }
