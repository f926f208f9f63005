"""An AUROC below 0.5 is explained in words: the OOD set looks more in-distribution than the test
set to that score (with both medians), in the record's note and so in the caveat."""

from __future__ import annotations

import numpy as np

from harness.analysis.caveats import caveats
from harness.core.suite import RunContext
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics


def test_below_chance_is_said_in_words() -> None:
    gen = np.random.default_rng(0)
    clean = {"sample_id": np.arange(50).astype(str), "msp": gen.uniform(0.4, 0.8, 50)}
    noise = {"sample_id": np.arange(40).astype(str), "msp": gen.uniform(0.7, 1.0, 40)}
    records = set_metrics(
        ScoredSet("uniform_noise", "far", noise), clean, ["msp"], RunContext(seed=0), "msp"
    )
    auroc = next(r for r in records if r.metric == "ood_auroc")
    assert auroc.value is not None and auroc.value < 0.5 and auroc.headline
    note = auroc.note or ""
    assert note.startswith(
        "below chance: to msp, OOD set 'uniform_noise' looks more in-distribution"
    )
    assert f"median score {np.median(noise['msp']):.4g}" in note
    (caveat,) = [c for c in caveats(auroc) if c.kind == "below_chance"]
    assert "looks more in-distribution than the test set" in caveat.reason
    others = [r for r in records if r.metric != "ood_auroc"]
    assert all(r.note is None and not r.headline for r in others)
