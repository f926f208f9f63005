"""`ShiftSuite.input_fingerprints`: the prints of the shifted tasks and OOD sets a job on a task
reads, and of its training split when the job reads that (they enter its job key,
tests/run/test_job_cache_shift_inputs.py, tests/reliability/test_cache_safety.py), and only
those."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from harness.core.errors import ConfigError
from harness.core.suite import RunContext
from harness.core.task import Task
from harness.data.builtin import digits, digits_shifted
from harness.data.task_spec import TaskSpec
from harness.suites.accuracy import AccuracySuite
from harness.suites.shift import ShiftSuite
from tests.fixture_models import linear_digits

CLASSES = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def task() -> Task:
    return digits()


def _folder(root: Path, shade: int) -> TaskSpec:
    """A two-image labeled image folder (8x8 grey) as an inline task spec."""
    for label in ("0", "1"):
        (root / label).mkdir(parents=True, exist_ok=True)
        array = np.full((8, 8), shade + int(label), dtype=np.uint8)
        Image.fromarray(array, "L").save(root / label / "a.png")
    return TaskSpec.model_validate(
        {
            "name": root.name,
            "source": str(root),
            "modality": "image",
            "channels": 1,
            "input_shape": [1, 8, 8],
            "class_names": CLASSES,
        }
    )


def test_the_entries_of_the_task_and_nothing_else(task: Task, tmp_path: Path) -> None:
    missing = TaskSpec(name="never", source=str(tmp_path / "absent"), modality="image")
    suite = ShiftSuite(
        {
            "corruptions": [],
            # per task: only the evaluated task's entries are read (another task's never are)
            "shifted_tasks": {"digits": ["digits-shifted"], "wine": [missing]},
            "ood_sets": [{"generated": "uniform_noise", "n": 20}, _folder(tmp_path / "blobs", 9)],
        }
    )
    prints = suite.input_fingerprints(task)
    assert prints == {
        "shifted_tasks/digits-shifted": digits_shifted().fingerprint,
        "ood_sets/blobs": suite._sources.load(_folder(tmp_path / "blobs", 9), "").fingerprint,
        # the OOD detectors fit on the training split
        "train_split": task.train_fingerprint,
    }  # a generated set is wholly in the config: no print
    assert task.train_fingerprint not in (None, task.fingerprint)
    assert (
        ShiftSuite({"corruptions": [], "ood_sets": {"wine": [missing]}}).input_fingerprints(task)
        == {}
    )  # no OOD set on digits, no perturbation: the training split is not read either
    assert AccuracySuite({}).input_fingerprints(task) == {}  # the base class: none


def test_edited_files_change_the_print_and_run_reuses_the_loaded_task(
    task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _folder(tmp_path / "moved", 40)
    config = {"corruptions": [], "max_samples": 20, "shifted_tasks": [spec, "digits-shifted"]}
    suite = ShiftSuite(config)
    before = suite.input_fingerprints(task)
    _folder(tmp_path / "moved", 41)  # the same spec, other pixels
    after = ShiftSuite(config).input_fingerprints(task)
    assert before.keys() == after.keys() == {"shifted_tasks/moved", "shifted_tasks/digits-shifted"}
    assert before["shifted_tasks/moved"] != after["shifted_tasks/moved"]
    assert before["shifted_tasks/digits-shifted"] == after["shifted_tasks/digits-shifted"]

    # `run` takes the tasks the hook loaded (per instance), it does not read them again
    def refuse(*args: object, **kwargs: object) -> Task:
        raise AssertionError("loaded twice")

    monkeypatch.setattr("harness.data.loader.load_task", refuse)
    monkeypatch.setattr("harness.data.catalogue.task_registry", refuse)
    from harness.adapters.torch_module import TorchModuleAdapter

    adapter = TorchModuleAdapter.from_module(
        linear_digits(), name="lin", device=torch.device("cpu"), bounds=(0.0, 1.0)
    )
    result = suite.run(adapter, task, RunContext(bootstrap_resamples=10))
    assert {"shifted=moved", "shifted=digits-shifted"} <= set(result.table.frame.condition)


def test_a_name_given_twice_is_refused(tmp_path: Path) -> None:
    """Two sets of one name would be one condition (`ood=set`): the job failed on duplicate
    rows after its prints were taken; the settings refuse it now."""
    one, two = _folder(tmp_path / "a" / "set", 10), _folder(tmp_path / "b" / "set", 20)
    with pytest.raises(ConfigError, match="'set' is listed twice"):
        ShiftSuite({"corruptions": [], "ood_sets": [one, two]})


def test_a_published_corrupted_set_reads_no_other_task(tmp_path: Path) -> None:
    """`_run_published` evaluates the set's own cells: shifted tasks and OOD sets are not read."""
    n = 4
    published = Task(
        name="digits",
        modality="image",
        num_classes=10,
        class_names=tuple(CLASSES),
        input_shape=(1, 8, 8),
        bounds=(0.0, 1.0),
        data=datasets.Dataset.from_dict(
            {
                "sample_id": [f"s{i}" for i in range(n)],
                "input": np.zeros((n, 64), dtype=np.float32).tolist(),
                "label": [0] * n,
                "corruption": ["fog"] * n,
                "severity": [1] * n,
            }
        ),
        cell_columns=("corruption", "severity"),
    )
    missing = TaskSpec(name="never", source=str(tmp_path / "absent"), modality="image")
    suite = ShiftSuite({"shifted_tasks": [missing], "ood_sets": [missing]})
    assert suite.input_fingerprints(published) == {}


def test_an_ood_fit_keys_on_its_subset_not_every_training_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The detectors fit on a seeded stratified subset of the training split (`fit_samples`):
    a job's key held the print of the whole split, so an image-folder task read every training
    image (ImageNet's 1.28M) on each run, cached or not. It now holds the split's ids and labels
    (they choose the subset) and the subset's images: an edit of an image outside the subset
    keeps the key; an edit inside it, or of the labels, changes it."""
    from PIL import Image

    from harness.data.image_decoders import EncodedImages
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from harness.suites.shift.ood.detectors import fit_rows
    from tests.data.layouts import image_folder

    image_folder(tmp_path / "imgs" / "train", {"cat": 30, "dog": 30}, seed=1)
    image_folder(tmp_path / "imgs" / "test", {"cat": 2, "dog": 2}, seed=2)
    spec = TaskSpec(name="pets", source="imgs", modality="image", split="test", train_split="train")

    def print_of(seed: int = 0) -> str:
        suite = ShiftSuite(
            {"corruptions": [], "ood_sets": [{"generated": "uniform_noise", "n": 8}],
             "ood": {"fit_samples": 10}}
        )  # fmt: skip
        suite.bind_seed(seed)
        return suite.input_fingerprints(load_task(spec, base_dir=tmp_path))["train_split"]

    task = load_task(spec, base_dir=tmp_path)
    assert task.train is not None
    rows, ids = fit_rows(task, 10, 0)
    chosen = {ids[int(r)] for r in rows}
    outside = next(i for i in ids if i not in chosen)
    inside = next(iter(sorted(chosen)))
    read: list[int] = []
    original = EncodedImages._bytes

    def counted(self: EncodedImages, value: object) -> bytes:
        read.append(1)
        return original(self, value)

    monkeypatch.setattr(EncodedImages, "_bytes", counted)
    before = print_of()
    # the fit subset's 10 images (and the 4 of the test split, loaded with the task), not 60
    assert 10 <= len(read) <= 10 + 4, len(read)
    assert print_of(seed=1) != before  # another seed chooses other rows

    def repaint(name: str, value: int) -> None:
        Image.fromarray(np.full((6, 5, 3), value, np.uint8)).save(
            tmp_path / "imgs" / "train" / name
        )

    repaint(outside, 7)
    assert print_of() == before  # never read by the fit: the key keeps, no image was hashed
    repaint(inside, 7)
    assert print_of() != before


def test_declared_categorical_features_key_the_tabular_noise() -> None:
    """A spec's one_hot / ordinal declaration decides which features gaussian_noise leaves
    alone (Task.categorical_features), but it was in no job key: declaring `ordinal: {grade:
    ["0", ..., "14"]}` on a column already coded 0..14 gives the same data and fingerprint,
    and `harness run` reused the noised-grade result (0.775 where the declared task scores
    0.800). The declaration now keys the job when noise runs; a task declaring none keeps
    its key."""
    from dataclasses import replace

    from harness.data.builtin import diabetes

    tab = diabetes()
    names = tuple(f"f{j}" for j in range(tab.input_shape[0]))
    plain = replace(tab, feature_names=names)
    coded = replace(plain, categorical_features=("f3",))
    suite = ShiftSuite({"severities": [1]})
    assert "categorical_features" not in suite.input_fingerprints(plain)
    declared = suite.input_fingerprints(coded)
    assert (
        declared["categorical_features"]
        != suite.input_fingerprints(replace(plain, categorical_features=("f4",)))[
            "categorical_features"
        ]
    )
    assert {k: v for k, v in declared.items() if k != "categorical_features"} == (
        suite.input_fingerprints(plain)
    )
    # feature_dropout imputes declared categorical features with their most frequent value
    dropout_only = ShiftSuite({"severities": [1], "tabular": ["feature_dropout"]})
    assert "categorical_features" in dropout_only.input_fingerprints(coded)


def test_which_feature_ranges_are_declared_keys_the_tabular_noise() -> None:
    """Declaring a feature's range as the data's own range gives the same task fingerprint, yet
    gaussian_noise then scales it by the range instead of the training std: the declaration
    keys the job when noise runs."""
    from dataclasses import replace

    from harness.data.builtin import diabetes

    tab = diabetes()
    width = tab.input_shape[0]
    named = replace(
        tab,
        feature_names=tuple(f"f{j}" for j in range(width)),
        feature_bounds=((0.0, 1.0),) * width,
    )
    observed = replace(named, observed_bounds=(True,) * width)
    suite = ShiftSuite({"severities": [1]})
    assert "observed_bounds" not in suite.input_fingerprints(named)
    assert "observed_bounds" in suite.input_fingerprints(observed)
    partly = replace(named, observed_bounds=(False, *(True,) * (width - 1)))
    assert (
        suite.input_fingerprints(partly)["observed_bounds"]
        != suite.input_fingerprints(observed)["observed_bounds"]
    )
    dropout_only = ShiftSuite({"severities": [1], "tabular": ["feature_dropout"]})
    assert "observed_bounds" not in dropout_only.input_fingerprints(observed)
