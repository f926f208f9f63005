"""A near/far mean over a set of one sample has no interval, and its note says why: the mean
AUROC of a far set of one image read "0.570" with the note "mean over the far OOD sets (oneimg)"
beside the set's own "no interval: 100 test and 1 OOD sample(s)"."""

from __future__ import annotations

import numpy as np

from harness.core.suite import RunContext
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics, tag_means


def test_a_mean_without_interval_says_why() -> None:
    gen = np.random.default_rng(0)
    clean = {"sample_id": np.arange(50).astype(str), "energy": gen.normal(5, 1, 50)}
    one = ScoredSet("oneimg", "far", {"sample_id": np.array(["x"]), "energy": np.array([4.0])})
    per_set = set_metrics(one, clean, ["energy"], RunContext(seed=0), "energy")
    (mean,) = [r for r in tag_means([one], clean, ["energy"], per_set, "energy")
               if r.metric == "ood_auroc"]  # fmt: skip
    assert mean.value is not None and mean.ci is None
    # one set: the mean is that set's value, without an interval as the set's own, and why
    assert mean.note is not None and "no interval" in mean.note and "at least 2" in mean.note


def test_a_mean_over_one_set_is_that_sets_number_with_its_interval() -> None:
    """A tag with one set: its mean is that set's value, and it carries that set's interval
    for every metric. It read 'no interval for a mean of this metric' for AUPR-In, AUPR-Out and
    FPR@95 beside the same number with an interval, and its AUROC had another interval (the
    mean's DeLong) than the same AUROC on the set's row."""
    gen = np.random.default_rng(0)
    clean = {"sample_id": np.arange(200).astype(str), "energy": gen.normal(5, 1, 200)}
    rows = {"sample_id": np.arange(150).astype(str), "energy": gen.normal(3.5, 1.2, 150)}
    noise = ScoredSet("noise", "far", rows)
    ctx = RunContext(seed=0, bootstrap_resamples=200)
    per_set = set_metrics(noise, clean, ["energy"], ctx, "energy")
    means = tag_means([noise], clean, ["energy"], per_set, "energy")
    for own in per_set:
        (mean,) = [m for m in means if m.metric == own.metric]
        assert own.ci is not None
        assert (mean.value, mean.ci, mean.ci_method) == (own.value, own.ci, own.ci_method)
        assert mean.note is not None and "no interval" not in mean.note
        assert mean.note.startswith("mean over the far OOD sets (noise): the set's own value")
