"""Tabular and text perturbations: determinism, grading, statistics and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.core.errors import ConfigError
from harness.core.seeding import sample_seeds
from harness.data.builtin import diabetes, digits
from harness.suites.shift import perturbations, text_perturbations


@pytest.fixture(scope="module")
def tab():
    return diabetes()


def test_tabular_noise_is_scaled_by_training_std_and_deterministic(tab) -> None:
    x = torch.full((4000, 10), 0.5)
    ids = [f"s{i}" for i in range(4000)]
    seeds = sample_seeds(0, ids, "gaussian_noise", 2)
    stats = perturbations.feature_stats(tab)
    std, continuous = stats.std, stats.continuous
    out = perturbations.apply(x, "gaussian_noise", 2, seeds, tab)
    assert torch.equal(out, perturbations.apply(x, "gaussian_noise", 2, seeds, tab))
    alone = perturbations.apply(x[7:8], "gaussian_noise", 2, seeds[7:8], tab)
    assert torch.equal(alone[0], out[7])
    # std of (x + noise) per feature ~ 0.2 * training std (clipping at [0, 1] is rare at 0.5);
    # the categorical feature (sex, 0/1) is left alone
    measured = (out - x).std(dim=0)
    assert torch.allclose(measured, torch.where(continuous, 0.2 * std, 0.0), rtol=0.08)
    assert continuous.tolist() == [True, False, *[True] * 8]
    assert out.min() >= 0 and out.max() <= 1


def test_tabular_noise_follows_declared_feature_bounds(tab) -> None:
    from dataclasses import replace

    # Feature 0 may take [0.4, 0.6], feature 2 [0, 1]; the rest keep the task's box.
    pairs = [(0.4, 0.6), (0.0, 1.0), (0.0, 1.0), *[(0.0, 1.0)] * 7]
    boxed = replace(tab, feature_bounds=tuple(pairs))
    x = torch.full((4000, 10), 0.5)
    seeds = sample_seeds(0, [f"s{i}" for i in range(4000)], "gaussian_noise", 1)
    out = perturbations.apply(x, "gaussian_noise", 1, seeds, boxed)
    assert float(out[:, 0].min()) >= 0.4 and float(out[:, 0].max()) <= 0.6
    # Scale: 0.1 x (high - low) / sqrt(12), whatever the training std; clipping is rare here.
    measured = (out - x).std(dim=0)
    assert measured[2] == pytest.approx(0.1 / np.sqrt(12), rel=0.05)
    assert measured[0] == pytest.approx(0.1 * 0.2 / np.sqrt(12), rel=0.05)
    plain = perturbations.apply(x, "gaussian_noise", 1, seeds, tab)
    assert not torch.equal(plain, out)  # without declared bounds: the training std


def test_feature_dropout_imputes_training_mean_at_graded_rates(tab) -> None:
    x = torch.full((5000, 10), -1.0)
    seeds = sample_seeds(1, [str(i) for i in range(5000)], "feature_dropout", 1)
    stats = perturbations.feature_stats(tab)
    # continuous features take the training mean, the binary `sex` its most frequent value
    assert torch.equal(stats.fill[stats.continuous], stats.mean[stats.continuous])
    assert float(stats.fill[1]) in (0.0, 1.0)
    rates = []
    for sev in (1, 3, 5):
        out = perturbations.apply(x, "feature_dropout", sev, seeds, tab)
        missing = out != -1.0
        assert torch.equal(out[missing], stats.fill.expand_as(out)[missing])
        rates.append(missing.float().mean().item())
    assert rates == pytest.approx([0.1, 0.3, 0.5], abs=0.01)


def test_feature_dropout_imputes_categorical_features_with_values_they_take(tmp_path) -> None:
    """Dropout imputed every feature with its training mean: a one-hot feature got 0.30, an
    integer code (children 0..5) 2.54, values a model never sees (the reason noise leaves them
    alone), and a one-hot column's features went missing one by one (blue = 1 beside red =
    0.33). A categorical feature now takes its most frequent value, and a one-hot column goes
    missing whole, imputed with its most frequent category."""
    from pathlib import Path

    import pandas as pd

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    rng = np.random.default_rng(0)
    for split, n in (("train", 400), ("test", 300)):
        pd.DataFrame(
            {
                "age": rng.normal(50, 10, n).round(2),
                "kids": rng.integers(0, 6, n),
                "color": rng.choice(["red", "green", "blue"], n, p=[0.2, 0.5, 0.3]),
                "label": rng.integers(0, 2, n),
            }
        ).to_csv(tmp_path / f"{split}.csv", index=False)
    spec = TaskSpec(
        name="tab",
        source="test.csv",
        train_source="train.csv",
        modality="tabular",
        one_hot={"color": None},
    )
    task = load_task(spec, base_dir=Path(tmp_path))
    assert task.feature_names == ("age", "kids", "color=blue", "color=green", "color=red")
    x = torch.as_tensor(np.asarray(task.data.with_format("numpy")["input"]), dtype=torch.float32)
    seeds = sample_seeds(0, list(task.sample_ids), "feature_dropout", 5)
    out = perturbations.apply(x, "feature_dropout", 5, seeds, task)
    kids = set(np.unique(x[:, 1].numpy()))
    assert set(np.unique(out[:, 1].numpy())) <= kids  # whole codes only
    onehot = out[:, 2:]
    assert set(np.unique(onehot.numpy())) <= {0.0, 1.0}
    assert torch.equal(onehot.sum(dim=1), torch.ones(len(out)))  # one category per row
    moved = (onehot != x[:, 2:]).any(dim=1)
    assert moved.any() and torch.equal(
        onehot[moved & (x[:, 3] == 0)][:, 1], torch.ones(int((moved & (x[:, 3] == 0)).sum()))
    )  # the most frequent category, green
    assert not torch.equal(out[:, 0], x[:, 0])  # continuous features still go missing


def test_text_perturbations_deterministic_and_graded() -> None:
    texts = ["The quick brown fox jumps over the lazy dog again and again"] * 300
    seeds = sample_seeds(0, [str(i) for i in range(300)], "typo", 1)
    for family in text_perturbations.TEXT_FAMILIES:
        a = text_perturbations.perturb_text(texts, family, 3, seeds)
        assert a == text_perturbations.perturb_text(texts, family, 3, seeds)
        assert text_perturbations.perturb_text(texts[5:6], family, 3, seeds[5:6]) == a[5:6]
        changed = [
            np.mean(
                [t != texts[0] for t in text_perturbations.perturb_text(texts, family, s, seeds)]
            )
            for s in (1, 5)
        ]
        assert changed[0] < changed[1], family
    dropped = text_perturbations.perturb_text(texts, "word_dropout", 5, seeds)
    assert all(0 < len(t.split()) <= 12 for t in dropped)
    cased = text_perturbations.perturb_text(texts, "casing", 5, seeds)
    assert all(t.lower() == texts[0].lower() for t in cased)


def test_refusals_name_modality_and_valid_families(tab) -> None:
    with pytest.raises(
        ConfigError,
        match=r"'fog' is a image perturbation and does not fit tabular.*feature_dropout",
    ):
        perturbations.apply(torch.zeros(2, 10), "fog", 1, np.zeros(2, np.int64), tab)
    with pytest.raises(ConfigError, match=r"did you mean 'feature_dropout'"):
        perturbations.check("feature_dropot", 1, "tabular")
    with pytest.raises(ConfigError, match="severity must be an integer in 1..5, got 6"):
        perturbations.check("fog", 6, "image")
    with pytest.raises(ConfigError, match=r"'typo' is a text perturbation"):
        perturbations.check("typo", 1, "image")


def test_image_apply_matches_engine_and_refuses_channels() -> None:
    task = digits()
    x = task.all_inputs()[:16]
    seeds = sample_seeds(0, task.sample_ids[:16], "image", "fog", 2)
    from harness.suites.shift.image_corruptions import corrupt

    assert torch.equal(
        perturbations.apply(x, "fog", 2, seeds, task), corrupt(x, "fog", 2, torch.as_tensor(seeds))
    )
    with pytest.raises(ConfigError, match=r"1 or 3 channels, got shape \(16, 2, 8, 8\)"):
        perturbations.apply(torch.zeros(16, 2, 8, 8), "fog", 2, seeds, task)


@pytest.mark.parametrize("bounds", [(0.0, 1.0), (-1.0, 2.0), (-0.5, 0.5)])
def test_image_apply_maps_bounds_exactly_and_leaves_inputs_alone(bounds) -> None:
    """Images in other bounds are mapped to [0, 1] and back (in place on fresh tensors now): the
    same bits as the plain formula; [0, 1] images go straight through. The caller's batch is
    never changed."""
    from dataclasses import replace

    from harness.suites.shift.image_corruptions import corrupt

    low, high = bounds
    task = replace(digits(), bounds=bounds)
    x = digits().all_inputs()[:16] * (high - low) + low
    before = x.clone()
    seeds = sample_seeds(0, task.sample_ids[:16], "image", "contrast", 3)
    expected = corrupt((x - low) / (high - low), "contrast", 3, torch.as_tensor(seeds))
    expected = expected * (high - low) + low
    out = perturbations.apply(x, "contrast", 3, seeds, task)
    assert torch.equal(out, expected)
    assert torch.equal(x, before)
    assert out.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


def test_tabular_noise_leaves_categorical_features_alone(tab) -> None:
    # diabetes feature 1 is sex, 0/1 after scaling: noise must not make it 0.37.
    x = tab.all_inputs()
    assert set(x[:, 1].tolist()) == {0.0, 1.0}
    seeds = sample_seeds(0, tab.sample_ids, "gaussian_noise", 5)
    out = perturbations.apply(x, "gaussian_noise", 5, seeds, tab)
    assert torch.equal(out[:, 1], x[:, 1])
    assert bool((out[:, [0, *range(2, 10)]] != x[:, [0, *range(2, 10)]]).any(dim=0).all())
    assert perturbations.continuous_features(tab).tolist() == [True, False, *[True] * 8]


def test_few_distinct_integers_are_categorical_whatever_the_declared_box(tab) -> None:
    from dataclasses import replace

    import datasets

    rng = np.random.default_rng(0)
    n = 200
    cols = np.stack(
        [
            rng.normal(size=n),  # continuous
            rng.integers(0, 2, n),  # binary
            rng.integers(0, 7, n),  # an integer code with 7 values
            rng.integers(0, 80, n),  # integers with many values (an age): continuous
            np.full(n, 3.0),  # a constant
            rng.integers(0, 2, n) * 2.1 - 0.95,  # a standardised binary column
        ],
        axis=1,
    ).astype(np.float32)
    ds = datasets.Dataset.from_dict({"input": cols.tolist()})
    task = replace(tab, train=ds, input_shape=(6,), feature_bounds=None, bounds=None)
    assert perturbations.continuous_features(task).tolist() == [
        True, False, False, True, False, False
    ]  # fmt: skip
    boxed = replace(
        task,
        bounds=(-9.0, 80.0),
        feature_bounds=((-9.0, 9.0), (0.0, 1.0), (0.0, 6.0), (0.0, 80.0), (3.0, 3.0), (-1, 1.2)),
    )
    x = torch.as_tensor(cols)
    seeds = sample_seeds(0, [str(i) for i in range(n)], "gaussian_noise", 3)
    for t in (task, boxed):
        out = perturbations.apply(x, "gaussian_noise", 3, seeds, t)
        assert torch.equal(out[:, 1:3], x[:, 1:3]) and torch.equal(out[:, 4:], x[:, 4:])
        assert bool((out[:, [0, 3]] != x[:, [0, 3]]).all())


def test_a_declared_ordinal_is_categorical_whatever_its_number_of_levels(tmp_path) -> None:
    """The data rule alone takes an integer code with more than 10 values for a continuous
    feature; a task spec's `ordinal` (and `one_hot`) columns are categorical by declaration."""
    import pandas as pd

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    levels = [f"L{i:02d}" for i in range(15)]
    rng = np.random.default_rng(0)
    n = 300
    pd.DataFrame(
        {
            "grade": rng.choice(levels, n),
            "colour": rng.choice(["red", "blue"], n),
            "score": rng.normal(size=n),
            "label": rng.integers(0, 2, n),
        }
    ).to_csv(tmp_path / "t.csv", index=False)
    spec = {"name": "graded", "modality": "tabular", "source": "t.csv"}
    spec.update(ordinal={"grade": levels}, one_hot={"colour": ["red", "blue"]})
    task = load_task(TaskSpec.model_validate(spec), base_dir=tmp_path)
    assert task.feature_names == ("grade", "colour=red", "colour=blue", "score")
    assert task.categorical_features == ("grade", "colour=red", "colour=blue")
    assert perturbations.continuous_features(task).tolist() == [False, False, False, True]
    x = task.all_inputs()
    seeds = sample_seeds(0, task.sample_ids, "gaussian_noise", 5)
    out = perturbations.apply(x, "gaussian_noise", 5, seeds, task)
    assert torch.equal(out[:, :3], x[:, :3])
    assert float((out[:, 3] != x[:, 3]).float().mean()) > 0.9  # (a few clipped at a bound)


def test_tabular_noise_on_a_loaded_task_follows_the_training_std_unless_declared(tmp_path) -> None:
    """A table task's per-feature bounds are the data's range when none are declared, and the
    noise took them as declared: scaled by range / sqrt(12), 1.9x the documented 0.1 x training
    std on a normal feature of 600 rows (a range grows with the sample, and one outlier sets it).
    Only a declared range (`feature_bounds`, `bounds`) scales the noise; the others keep the
    training std, all clipped to their own bounds."""
    from pathlib import Path

    import pandas as pd

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    rng = np.random.default_rng(0)
    for split, n in (("train", 4000), ("test", 2000)):
        pd.DataFrame(
            {
                "a": rng.normal(50, 5, n),
                "b": rng.normal(0, 1, n),
                "label": rng.integers(0, 2, n),
            }
        ).to_csv(tmp_path / f"{split}.csv", index=False)
    common = {"source": "test.csv", "train_source": "train.csv", "modality": "tabular"}
    plain = load_task(TaskSpec(name="t", **common), base_dir=Path(tmp_path))
    boxed = load_task(
        TaskSpec(name="t", feature_bounds={"a": [0, 100]}, **common), base_dir=Path(tmp_path)
    )
    x = torch.as_tensor(np.asarray(plain.data.with_format("numpy")["input"]), dtype=torch.float32)
    seeds = sample_seeds(0, list(plain.sample_ids), "gaussian_noise", 1)
    std = perturbations.feature_stats(plain).std
    moved = (perturbations.apply(x, "gaussian_noise", 1, seeds, plain) - x).std(dim=0)
    assert moved.tolist() == pytest.approx((0.1 * std).tolist(), rel=0.06)
    declared = (perturbations.apply(x, "gaussian_noise", 1, seeds, boxed) - x).std(dim=0)
    assert float(declared[0]) == pytest.approx(0.1 * 100 / np.sqrt(12), rel=0.06)
    assert float(declared[1]) == pytest.approx(0.1 * float(std[1]), rel=0.06)
