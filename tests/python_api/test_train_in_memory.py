"""`harness.evaluate(data=..., train=...)`: a training split held in memory, beside the data,
is the task's training split, as a spec task's `train_split:` is. Without it the shift suite's
OOD feature detectors had nothing to fit on and were left out (their note named only spec
keys), and a table's noise was scaled by the evaluation data's own spread.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
import torch

import harness
from harness.core.errors import HarnessError
from harness.data.builtin import digits_arrays
from tests.fixture_models import linear_digits

FAST = {"device": "cpu", "bootstrap_resamples": 0}
SHIFT = {
    "shift": {
        "corruptions": [],
        "ood_sets": [{"generated": "uniform_noise", "n": 100}],
        # more than the 1,078 training images: every one is fitted on, in order
        "ood": {"fit_samples": 5000, "detectors": ["msp", "mahalanobis", "knn"], "headline": "msp"},
    }
}


def _split(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = digits_arrays(name)
    return torch.from_numpy(x.copy()), torch.from_numpy(y.copy())


def _aurocs(result: harness.EvaluationResult) -> dict[str, float]:  # type: ignore[name-defined]
    return {
        str(m.context["score"]): m.value
        for m in result.metrics
        if m.metric == "ood_auroc" and m.condition == "ood=uniform_noise"
    }


def test_a_training_split_in_memory_fits_the_detectors_as_the_catalogue_tasks_does() -> None:
    model = linear_digits()
    memory = harness.evaluate(
        model, data=_split("test"), train=_split("train"), suites=SHIFT, **FAST
    )
    catalogue = harness.evaluate(model, task="digits", suites=SHIFT, **FAST)
    ours, theirs = _aurocs(memory), _aurocs(catalogue)
    assert set(ours) == {"msp", "mahalanobis", "knn"}
    assert ours == pytest.approx(theirs, abs=1e-12)
    # without it the feature detectors are left out, saying how to give one from Python
    without = harness.evaluate(model, data=_split("test"), suites=SHIFT, **FAST)
    absent = without.results["shift"].artifacts["ood"]["absent"]
    assert set(_aurocs(without)) == {"msp"} and "train=" in absent["mahalanobis"]


def test_a_tables_training_split_scales_its_noise() -> None:
    """A table's noise follows the training split's spread (the note saying it used the
    evaluation split's is gone), as a spec task with `train_split:` gives it."""
    frame = pd.DataFrame(
        {"a": [0.1 * i for i in range(40)], "b": [float(i % 7) for i in range(40)]}
    )
    frame["label"] = [i % 2 for i in range(40)]
    suites = {"shift": {"tabular": ["gaussian_noise"], "severities": [3]}}

    def model(x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, 0] - 2.0, 2.0 - x[:, 0]], axis=1)

    alone = harness.evaluate(model, data=frame[20:], suites=suites, **FAST)
    trained = harness.evaluate(model, data=frame[20:], train=frame[:20], suites=suites, **FAST)
    note = "tabular shifts use evaluation-split feature statistics"
    assert any(note in n for n in alone.results["shift"].notes)
    assert not any(note in n for n in trained.results["shift"].notes)


def test_a_training_splits_groups_give_the_fairness_suite_its_coverage() -> None:
    """`groups` naming columns of data names the training split's columns too: a group only
    the training split holds is said, as for a spec task with a train split."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=200),
            "sex": rng.choice(["f", "m"], 200),
            "label": rng.integers(0, 2, 200),
        }
    )
    train = frame.copy()
    train.loc[:9, "sex"] = "x"

    def model(x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, 0], -x[:, 0]], axis=1)

    result = harness.evaluate(
        model, data=frame, train=train, groups=["sex"], suites=["fairness"], **FAST
    )
    said = "sex: groups present in the training split but absent from the test split: x"
    assert said in result.results["fairness"].notes
    with pytest.raises(HarnessError, match="^train: groups: column 'sex' is not a column of train"):
        harness.evaluate(model, data=frame, train=train[["a", "label"]], groups=["sex"], **FAST)


def test_a_training_frame_with_two_level_columns_is_told_to_rename_train_columns() -> None:
    frame = pd.DataFrame({"a": [0.1, 0.3, 0.5, 0.7], "label": [0, 1, 0, 1]})
    train = frame.copy()
    train.columns = pd.MultiIndex.from_tuples([("x", "a"), ("label", "")])

    def model(x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, 0], -x[:, 0]], axis=1)

    with pytest.raises(HarnessError) as info:
        harness.evaluate(model, data=frame, train=train, **FAST)
    said = str(info.value)
    assert said.startswith("train: the frame's columns have 2 levels"), said
    assert "train.columns = ['_'.join(map(str, c)).strip('_') for c in train.columns]" in said
    assert "data" not in said, said


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (
            (torch.zeros(5, 1, 4, 4), torch.zeros(5, dtype=torch.long)),
            "train: samples of shape [1, 4, 4], but data's are [1, 8, 8]",
        ),
        (
            (torch.zeros(5, 1, 8, 8), torch.full((5,), 12)),
            "train: label 12 (sample 0) is outside [0, 10), the task's classes",
        ),
        (
            (torch.full((5, 1, 8, 8), 2.0), torch.zeros(5, dtype=torch.long)),
            "train: sample 0 has inputs in [2, 2], outside bounds [0, 1]",
        ),
        (  # num_classes= takes in no negative label: not advised
            (torch.zeros(5, 1, 8, 8), torch.full((5,), -1)),
            "train: label -1 (sample 0) is outside [0, 10), the task's classes; labels are",
        ),
        ((["a text"] * 5, [0] * 5), "train: holds texts but data holds tensors"),
        ((torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long)), "train:"),
        ("digits", "train: got a str"),
        (  # the way out names train=, not data=
            [(torch.zeros(1, 8, 8), 0)] * 5,
            "pass the inputs and the labels apart: train=(torch.stack(",
        ),
    ],
    ids=["shape", "label", "bounds", "negative label", "texts", "empty", "a name", "samples"],
)
def test_a_training_split_unlike_the_data_is_one_line_naming_train(
    train: object, message: str
) -> None:
    with pytest.raises(HarnessError) as info:
        harness.evaluate(linear_digits(), data=_split("test"), train=train, **FAST)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_train_goes_with_data_in_memory_only() -> None:
    with pytest.raises(HarnessError, match="train: applies to data passed in memory"):
        harness.evaluate(linear_digits(), task="digits", train=_split("train"), **FAST)


def _job_keys(run: Path) -> list[str]:
    return sorted(json.loads(p.read_text())["key"] for p in run.glob("jobs/*/job.json"))


def test_a_training_split_changed_in_place_after_evaluate_keeps_the_saved_job_key(
    tmp_path: Path,
) -> None:
    """The training images are a view of the caller's tensor: a save after the caller changed
    them in place wrote the job key of the changed split (the OOD fit subset's rows were hashed
    on save), beside numbers fitted on the old one."""
    model, suites = linear_digits(), {"shift": {**SHIFT["shift"], "ood": {"fit_samples": 100}}}
    (x, y), (xr, yr) = _split("test"), _split("train")
    first = harness.evaluate(model, data=(x, y), train=(xr, yr), suites=suites, **FAST)
    changed = xr.clone()
    changed[:, :, :4] = 0
    other = harness.evaluate(model, data=(x, y), train=(changed, yr), suites=suites, **FAST)
    xr[:, :, :4] = 0  # the caller's next line
    saved = _job_keys(first.save(tmp_path / "a"))
    assert saved != _job_keys(other.save(tmp_path / "b"))


def test_evaluations_with_other_training_splits_are_saved_as_runs_of_their_own(
    tmp_path: Path,
) -> None:
    """Their OOD numbers differ: saving the second into the same folder replaced the first
    (one run id: the task's fingerprint leaves the training split out)."""
    model = linear_digits()
    (x, y), (xr, yr) = _split("test"), _split("train")
    changed = xr.clone()
    changed[:, :, :4] = 0
    a = harness.evaluate(model, data=(x, y), train=(xr, yr), suites=SHIFT, **FAST)
    b = harness.evaluate(model, data=(x, y), train=(changed, yr), suites=SHIFT, **FAST)
    assert _aurocs(a) != _aurocs(b)
    assert a.save(tmp_path) != b.save(tmp_path)
    assert a.save(tmp_path) == a.save(tmp_path)  # the same evaluation still rewrites its folder


def test_a_tables_observed_bounds_take_in_the_training_split(tmp_path: Path) -> None:
    """A spec task's observed feature ranges span its training and evaluation splits, which
    the noise is clipped to; data in memory took the evaluation data's range alone, so its noise
    was clipped where the spec task's was not (other numbers for the same splits)."""
    rng = np.random.default_rng(0)

    def table(n: int, scale: float, width: int) -> pd.DataFrame:
        frame = pd.DataFrame({"a": rng.normal(size=n) * scale, "b": rng.normal(size=n)})
        frame["label"] = (frame["a"] > 0).astype(int)
        frame["sid"] = [f"{i:0{width}d}" for i in range(n)]  # the ids data in memory gets
        return frame

    test, train = table(100, 1.0, 2), table(300, 3.0, 3)
    test.to_parquet(tmp_path / "test.parquet")
    train.to_parquet(tmp_path / "train.parquet")

    def model(x: np.ndarray) -> np.ndarray:
        s = np.asarray(x, dtype=np.float64)[:, 0] - 2.6  # a past data's range, not train's
        return np.stack([-s, s], axis=1)

    suites = {"shift": {"tabular": ["gaussian_noise"], "severities": [5]}}
    spec = {
        "name": "t",
        "source": str(tmp_path / "test.parquet"),
        "train_source": str(tmp_path / "train.parquet"),
        "modality": "tabular",
        "id_column": "sid",
        "feature_columns": ["a", "b"],
    }
    theirs = harness.evaluate(model, task=spec, suites=suites, **FAST)
    cols = ["a", "b", "label"]
    ours = harness.evaluate(model, data=test[cols], train=train[cols], suites=suites, **FAST)

    def shifted(r: harness.EvaluationResult) -> float:  # type: ignore[name-defined]
        return r.metric("tabular_shift_acc[tabular=gaussian_noise]").value

    assert shifted(ours) == pytest.approx(shifted(theirs), abs=1e-12)
    assert ours.provenance is not None and theirs.provenance is not None
    assert ours.provenance.task.feature_bounds == theirs.provenance.task.feature_bounds


def test_a_tables_training_statistics_are_its_rows_read_in_whole_columns() -> None:
    """The shift suite read a table's training split row by row (datasets' numpy format of a
    list column: 200,000 rows of 2 features took 62 s for 6 evaluated samples); it reads whole
    Arrow columns. The matrix is the split's rows in their order, also for a selection of rows
    (a split with an indices mapping) and a table stored in several chunks."""
    from harness.suites.shift.perturbations import _training_matrix

    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=6), "b": rng.normal(size=6), "label": [0, 1] * 3})
    train = pd.DataFrame(
        {"a": rng.normal(size=300), "b": rng.normal(size=300), "label": rng.integers(0, 2, 300)}
    )

    def model(x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, 0], -x[:, 0]], axis=1)

    result = harness.evaluate(model, data=data, train=train, suites=["accuracy"], **FAST)
    task = result.provenance.task
    assert task.train is not None
    expected = train[["a", "b"]].to_numpy(dtype=np.float32).astype(np.float64)
    np.testing.assert_array_equal(_training_matrix(task), expected)
    chosen = [299, 3, 150, 3]
    picked = replace(task, train=task.train.select(chosen))
    np.testing.assert_array_equal(_training_matrix(picked), expected[chosen])
    chunked = datasets.concatenate_datasets(
        [task.train.select(range(100)), task.train.select(range(100, 300))]
    )
    np.testing.assert_array_equal(_training_matrix(replace(task, train=chunked)), expected)


def test_a_training_split_declaring_other_class_names_is_told_to_name_them() -> None:
    """A `datasets` training split whose ClassLabel declares names the data (integer labels)
    does not: refused naming `class_names=`, which makes the two agree."""
    x, y = _split("train")
    names = [f"digit {i}" for i in range(10)]
    features = datasets.Features(
        {"image": datasets.Array3D((1, 8, 8), "float32"), "label": datasets.ClassLabel(names=names)}
    )
    train = datasets.Dataset.from_dict(
        {"image": x[:50].numpy(), "label": y[:50].tolist()}, features=features
    )
    with pytest.raises(HarnessError, match="^train: .*pass class_names= with the names train"):
        harness.evaluate(linear_digits(), data=_split("test"), train=train, **FAST)
    result = harness.evaluate(
        linear_digits(), data=_split("test"), train=train, class_names=names, **FAST
    )
    assert result.provenance.task.train is not None


def _grouped(n: int, sex: datasets.Features | None, codes: list[object]) -> datasets.Dataset:
    rng = np.random.default_rng(n)
    values = {
        "a": rng.normal(size=(n, 1)).tolist(),
        "sex": codes,
        "label": [i % 2 for i in range(n)],
    }
    if sex is None:
        return datasets.Dataset.from_dict(values)
    return datasets.Dataset.from_dict(values, features=sex)


def _sex_label(names: list[str]) -> datasets.Features:
    return datasets.Features(
        {
            "a": datasets.Sequence(datasets.Value("float32")),
            "sex": datasets.ClassLabel(names=names),
            "label": datasets.Value("int64"),
        }
    )


def _first_feature(x: np.ndarray) -> np.ndarray:
    return np.stack([x[:, 0], -x[:, 0]], axis=1)


@pytest.mark.parametrize(
    "train_sex",
    [
        _sex_label(["x", "f", "m"]),  # x at code 0: 'groups ... absent from the test split: 2'
        _sex_label(["f", "m", "x"]),  # 'absent ...: 2', not 'x'
        None,  # texts 'f', 'm' against data's codes 0, 1: every group said absent
    ],
    ids=["reordered", "one more", "texts"],
)
def test_a_training_splits_group_column_declaring_other_names_is_refused(
    train_sex: datasets.Features | None,
) -> None:
    """A ClassLabel group column holds codes whose names the dataset declares: the training
    split's codes were compared with the data's as if both declared the same names, and the
    fairness suite named a code of the one as a group the other lacks."""
    data = _grouped(40, _sex_label(["f", "m"]), [i % 2 for i in range(40)])
    codes: list[object] = [i % 3 for i in range(60)]
    if train_sex is None:
        codes = ["f" if i % 2 else "m" for i in range(60)]
    train = _grouped(60, train_sex, codes)
    with pytest.raises(HarnessError) as info:
        harness.evaluate(
            _first_feature, data=data, train=train, input_column="a", groups=["sex"], **FAST
        )
    message = str(info.value)
    assert message.startswith("train: group column 'sex'") and "\n" not in message
    same = _grouped(60, _sex_label(["f", "m"]), [i % 2 for i in range(60)])
    result = harness.evaluate(
        _first_feature, data=data, train=same, input_column="a", groups=["sex"], **FAST
    )
    assert result.provenance is not None and result.provenance.task.train is not None


def test_a_training_splits_group_column_of_floats_beside_integers_is_refused() -> None:
    """Data's group column of integers and the training split's of floats (0.0, 1.0: a frame
    that held a NaN once): the fairness suite refused train's as continuous after the model ran,
    naming neither train nor data, and advising bin edges for a column of categories."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {"a": rng.normal(size=40), "grp": [i % 2 for i in range(40)], "label": [0, 1] * 20}
    )
    train = data.assign(grp=data["grp"].astype(float))
    calls = []

    def model(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return _first_feature(x)

    with pytest.raises(HarnessError) as info:
        harness.evaluate(model, data=data, train=train, groups=["grp"], suites=["fairness"], **FAST)
    message = str(info.value)
    assert message.startswith("train: group column 'grp'") and "\n" not in message
    assert "integers" in message and not calls


def test_a_continuous_group_column_of_fractional_floats_beside_integers_runs() -> None:
    """A continuous attribute binned by `suites.fairness.bins` (data's ages in whole years,
    train's fractional) was refused as 'holds floats but data's holds integers', advising
    `astype(int)`, which would cut the ages; both splits bin alike. Only whole floats (a frame
    that held a NaN once) are refused."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {"a": rng.normal(size=40), "age": rng.integers(18, 80, size=40), "label": [0, 1] * 20}
    )
    train = data.assign(age=rng.uniform(18, 80, size=40))
    suites = {"fairness": {"bins": {"age": [0, 40, 60, 120]}}}
    result = harness.evaluate(
        _first_feature, data=data, train=train, groups=["age"], suites=suites, **FAST
    )
    assert result.provenance is not None and result.provenance.task.train is not None


def test_a_training_split_without_columns_beside_named_groups_says_so() -> None:
    """`groups` naming columns of data names the same columns of train: a training split of
    arrays, which has no columns, was told 'groups: got a list; pass a pandas DataFrame ...',
    faulting a `groups` that is right for data."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "sex": ["f", "m"] * 20, "label": [0, 1] * 20})
    arrays = (frame[["a"]].to_numpy(np.float32), frame["label"].to_numpy())
    with pytest.raises(HarnessError) as info:
        harness.evaluate(_first_feature, data=frame, train=arrays, groups=["sex"], **FAST)
    message = str(info.value)
    assert message.startswith("train: ") and "\n" not in message
    assert "'sex'" in message and "got a list" not in message
