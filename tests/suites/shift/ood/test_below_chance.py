"""An AUROC below 0.5 is explained in words: the OOD set looks more in-distribution than the test
set to that score (with both medians), in the record's note and so in the caveat."""

from __future__ import annotations

import numpy as np

from harness.analysis.caveats import caveats
from harness.core.suite import RunContext
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics


def _msp_records(scored: ScoredSet, clean: dict) -> list:
    """The set's detection records on the `msp` score (its headline), seed 0."""
    return set_metrics(scored, clean, ["msp"], RunContext(seed=0), "msp")


def test_below_chance_is_said_in_words() -> None:
    gen = np.random.default_rng(0)
    clean = {"sample_id": np.arange(50).astype(str), "msp": gen.uniform(0.4, 0.8, 50)}
    noise = {"sample_id": np.arange(40).astype(str), "msp": gen.uniform(0.7, 1.0, 40)}
    records = _msp_records(ScoredSet("uniform_noise", "far", noise), clean)
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


def test_an_auroc_under_half_whose_interval_holds_half_is_not_called_below_chance() -> None:
    """An OOD set of 30 test-like inputs repeated 10 times got Mahalanobis AUROC 0.497 [0.450,
    0.543] with the note 'below chance: ... looks more in-distribution than the test set' and
    the report's caveat 'worse than a coin flip': a claim its own interval does not support.
    Such a record now says the score cannot tell the set from the test set, and has no
    below-chance caveat."""
    gen = np.random.default_rng(1)
    clean = {"sample_id": np.arange(200).astype(str), "msp": gen.normal(0.0, 1.0, 200)}
    same = {"sample_id": np.arange(200).astype(str), "msp": gen.normal(0.1, 1.0, 200)}
    auroc = next(
        r
        for r in _msp_records(ScoredSet("lookalike", "near", same), clean)
        if r.metric == "ood_auroc"
    )
    assert auroc.value is not None and auroc.value < 0.5
    assert auroc.ci is not None and auroc.ci[0] < 0.5 < auroc.ci[1]
    note = auroc.note or ""
    assert not note.startswith("below chance")
    assert note.startswith(
        f"at chance: AUROC {auroc.value:.3f} is under 0.5, but its interval "
        f"[{auroc.ci[0]:.3f}, {auroc.ci[1]:.3f}] holds 0.5: msp cannot tell OOD set "
        "'lookalike' from the test set"
    )
    assert not [c for c in caveats(auroc) if c.kind == "below_chance"]


def test_an_auroc_of_exactly_half_is_not_said_to_be_under_half() -> None:
    """An OOD set identical to the test set has AUROC 0.5 exactly (every pair a tie or matched
    by its mirror), but the mean of 60 placements rounds to 0.49999999999999994: the record
    said "at chance: AUROC 0.500 is under 0.5" (knn, vim and odin of a probe with the test
    folder as its OOD set). The verdict is now taken on the exact Mann-Whitney count."""
    scores = np.random.default_rng(6).normal(0.0, 1.0, 60)  # its placements' mean rounds under
    clean = {"sample_id": np.arange(60).astype(str), "msp": scores}
    same = {"sample_id": np.arange(60).astype(str), "msp": scores.copy()}
    auroc = next(
        r for r in _msp_records(ScoredSet("same", "near", same), clean) if r.metric == "ood_auroc"
    )
    assert auroc.value is not None and abs(auroc.value - 0.5) < 1e-12
    assert "under 0.5" not in (auroc.note or "") and "below chance" not in (auroc.note or "")
