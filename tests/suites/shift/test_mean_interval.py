"""The shift suite's `mean_corruption_acc` and `relative_corruption_drop` intervals: Wilson at
Kish's effective n over the source images and MOVER (harness.stats.intervals.cell_mean /
relative_drop), on the suite's own cells; a perfect model is not reported as certain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.core.suite import RunContext
from harness.stats.intervals import (
    CELL_MEAN_METHOD,
    RATIO_METHOD,
    WILSON_METHOD,
    cell_mean,
    wilson_ci,
)
from harness.suites.shift import ShiftSuite
from tests.suites.shift.small_tasks import image_task


def _task(name: str, n: int, *, labels: list[int] | None = None, extra: dict | None = None):
    """A task of `n` images labelled `labels` (all 0 by default); `extra` makes a published set."""
    cells = ("corruption", "severity") if extra else ()
    return image_task(name, n, labels=labels or [0] * n, extra=extra, cell_columns=cells)


def _always(label: int):
    """A model that answers `label` whatever the input."""
    from harness.adapters.torch_module import TorchModuleAdapter

    linear = torch.nn.Linear(64, 10)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.zero_()
        linear.bias[label] = 5.0
    return TorchModuleAdapter.from_module(
        torch.nn.Sequential(torch.nn.Flatten(), linear),
        name=f"always-{label}",
        device=torch.device("cpu"),
        bounds=(0.0, 1.0),
        input_shape=(1, 8, 8),
        modality="image",
    )


def test_a_model_right_on_every_image_in_every_cell_is_not_certain() -> None:
    """Every image right in every cell: the percentile bootstrap said [1.000, 1.000] and a drop
    of [0, 0]; now the mean's interval is Wilson's for 60 images and the drop's spans 0."""
    task = _task("all-zero", 60)
    config = {"corruptions": ["fog", "gaussian_noise"], "severities": [1, 3]}
    result = ShiftSuite(config).run(_always(0), task, RunContext(seed=0, bootstrap_resamples=50))
    m = {r.key: r for r in result.metrics}
    mean = m["mean_corruption_acc"]
    assert mean.value == 1.0 and mean.n == 60 and mean.ci_method == CELL_MEAN_METHOD
    assert mean.ci == pytest.approx(wilson_ci(60, 60))
    assert mean.ci is not None and mean.ci[0] < 0.95
    drop = m["relative_corruption_drop"]
    assert drop.value == 0.0 and drop.ci is not None and drop.ci_method == RATIO_METHOD
    assert drop.ci[0] < -0.02 and drop.ci[1] > 0.02


def test_mean_interval_is_the_cell_mean_of_the_suites_cells() -> None:
    """The record is `cell_mean` of the per-sample table's cells (one function, one number)."""
    task = _task("mixed", 80, labels=[i % 2 for i in range(80)])
    config = {"corruptions": ["fog", "contrast"], "severities": [2, 4]}
    result = ShiftSuite(config).run(_always(0), task, RunContext(seed=1, bootstrap_resamples=0))
    frame = result.table.frame
    conds = [c for c in dict.fromkeys(frame.condition) if c.startswith("corruption=")]
    expected = cell_mean([frame[frame.condition == c].correct.to_numpy() for c in conds])
    mean = next(r for r in result.metrics if r.metric == "mean_corruption_acc")
    assert mean.value == pytest.approx(expected.value) and mean.ci == pytest.approx(expected.ci)
    assert mean.ci is not None and mean.ci[0] < mean.value < mean.ci[1]  # no bootstrap needed


def test_published_cells_of_unequal_size_pair_by_source_id() -> None:
    """A published set whose cells hold different images (fog/1: 30, snow/2: 18 of them): the
    metric is the mean of the cells' accuracies, its interval clusters rows by source image
    (it had none: "cells differ in size"), and n counts the source images."""
    fog, snow = 30, 18
    ids = [f"img-{i}" for i in range(fog)] + [f"img-{i}" for i in range(5, 5 + snow)]
    labels = [i % 3 for i in range(fog)] + [i % 2 for i in range(snow)]
    published = _task(
        "published-unequal",
        fog + snow,
        labels=labels,
        extra={
            "corruption": ["fog"] * fog + ["snow"] * snow,
            "severity": [1] * fog + [2] * snow,
            "source_id": ids,
        },
    )
    result = ShiftSuite({}).run(
        _always(0), published, RunContext(seed=0, bootstrap_resamples=10, batch_size=7)
    )
    mean = next(r for r in result.metrics if r.metric == "mean_corruption_acc")
    acc_fog = np.mean([label == 0 for label in labels[:fog]])
    acc_snow = np.mean([label == 0 for label in labels[fog:]])
    assert mean.value == pytest.approx((acc_fog + acc_snow) / 2)
    assert mean.n == len(set(ids)) and mean.ci is not None
    assert mean.ci[0] < mean.value < mean.ci[1]
    expected = cell_mean(
        [np.array(labels[:fog]) == 0, np.array(labels[fog:]) == 0], [ids[:fog], ids[fog:]]
    )
    assert mean.ci == pytest.approx(expected.ci)


def test_every_cell_and_family_has_an_interval() -> None:
    """Each corruption x severity accuracy is a proportion (Wilson); each family's error is 1
    minus the cell mean over its severities (`cell_mean`, rows paired by image), flipped. A
    model right everywhere gets no zero-width interval anywhere."""
    task = _task("mixed-cells", 80, labels=[i % 3 for i in range(80)])
    config = {"corruptions": ["fog", "contrast"], "severities": [2, 4]}
    result = ShiftSuite(config).run(_always(0), task, RunContext(seed=1, bootstrap_resamples=0))
    frame = result.table.frame
    m = {r.key: r for r in result.metrics}
    for family in ("fog", "contrast"):
        cells = []
        for severity in (2, 4):
            cond = f"corruption={family}/severity={severity}"
            correct = frame[frame.condition == cond].correct.to_numpy()
            cells.append(correct)
            rec = m[f"corruption_acc[{cond}]"]
            assert rec.ci == pytest.approx(wilson_ci(float(correct.sum()), len(correct)))
            assert rec.ci_method == WILSON_METHOD
        error = m[f"corruption_error[corruption={family}]"]
        expected = cell_mean(cells)
        assert error.value == pytest.approx(1.0 - expected.value)
        assert expected.ci is not None and error.ci is not None
        assert error.ci == pytest.approx((1.0 - expected.ci[1], 1.0 - expected.ci[0]))
        assert error.ci_method == CELL_MEAN_METHOD and error.n == 80
        assert error.ci[0] < error.value < error.ci[1]
    perfect = ShiftSuite(config).run(
        _always(0), _task("all-zero-cells", 40), RunContext(seed=0, bootstrap_resamples=0)
    )
    for rec in perfect.metrics:
        if rec.metric in ("corruption_acc", "corruption_error"):
            assert rec.ci is not None and rec.ci[1] - rec.ci[0] > 0.05, rec.key


def test_published_family_of_unequal_cells_without_ids_says_why() -> None:
    """A published set whose severities hold different numbers of rows and no source ids:
    the family's error has no interval and the note says why (never a zero-width one)."""
    published = _task(
        "published-no-ids",
        30,
        labels=[i % 2 for i in range(30)],
        extra={"corruption": ["fog"] * 30, "severity": [1] * 20 + [2] * 10},
    )
    result = ShiftSuite({}).run(_always(0), published, RunContext(seed=0, bootstrap_resamples=0))
    m = {r.key: r for r in result.metrics}
    error = m["corruption_error[corruption=fog]"]
    assert error.ci is None and "no source image" in (error.note or "")
    assert m["corruption_acc[corruption=fog/severity=2]"].ci is not None  # a cell is a proportion
