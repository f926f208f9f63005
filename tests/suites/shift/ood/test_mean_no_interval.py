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
    assert mean.note is not None and "no interval" in mean.note and "fewer than 2" in mean.note
