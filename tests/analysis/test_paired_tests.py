"""Paired tests and rank tie groups against hand-computed references."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.analysis import paired_tests
from harness.core.errors import ResultsError
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.stats import sign_flip
from harness.suites.fairness.config import FairnessConfig


def _series(values: list[bool] | np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(values), index=[f"s{i}" for i in range(len(values))])


def _rec(
    value: float,
    metric: str = "top1_acc",
    ci: tuple[float, float] | None = None,
    unit: str = "fraction",
) -> MetricRecord:
    return MetricRecord(
        suite="accuracy",
        metric=metric,
        value=value,
        unit=unit,
        higher_is_better=True,
        n=100,
        ci=ci,
    )


def test_mcnemar_matches_binomial_reference() -> None:
    a = _series([True] * 30 + [False] * 10 + [True] * 5 + [False] * 55)
    b = _series([True] * 30 + [True] * 10 + [False] * 5 + [False] * 55)
    res = paired_tests.mcnemar(a, b)
    # discordant: 5 right only in A, 10 right only in B
    assert res.detail.startswith("discordant: 5 right only in A, 10")
    assert res.p_value == pytest.approx(stats.binomtest(5, 15, 0.5).pvalue)
    assert res.diff == pytest.approx(-0.05)


def test_join_is_on_sample_id_not_position() -> None:
    a = _series([True, False, True, False])
    b = a.iloc[::-1]  # same values, reversed order
    assert paired_tests.mcnemar(a, b).p_value == 1.0
    with pytest.raises(ResultsError, match="different sample ids"):
        paired_tests.mcnemar(a, b.rename(index=lambda s: s + "x"))


def test_paired_sign_flip_detects_shift_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=300)
    shifted = paired_tests.paired_sign_flip(_series(base + 0.3), _series(base), seed=1, name="t")
    assert shifted.p_value < 0.01 and shifted.diff == pytest.approx(0.3)
    noise = paired_tests.paired_sign_flip(
        _series(base + rng.normal(scale=0.01, size=300)), _series(base), seed=1, name="t"
    )
    assert noise.p_value > 0.05
    again = paired_tests.paired_sign_flip(_series(base + 0.3), _series(base), seed=1, name="t")
    assert again == shifted  # seeded


def _ev(record: MetricRecord, values: np.ndarray | None = None) -> paired_tests.Evidence:
    form = None if values is None else paired_tests.PerSample(values=_series(values), binary=True)
    return paired_tests.Evidence(record=record, form=form)


def test_rank_tie_groups() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random(400)
    a = truth < 0.80
    b = a.copy()
    b[:4] = ~b[:4]  # almost the same as a
    c = truth < 0.50
    entries = {name: _ev(_rec(float(x.mean())), x) for name, x in {"a": a, "b": b, "c": c}.items()}
    ranking = paired_tests.rank_with_ties(entries, seed=0)
    assert ranking.ranks["a"] == ranking.ranks["b"] == 1
    assert ranking.ranks["c"] == 3
    assert "McNemar" in ranking.method and "Holm" in ranking.method


def test_rank_tie_groups_do_not_depend_on_which_tied_leader_sorts_first() -> None:
    """a and b both score 0.70; c (0.655) is right only where a is (McNemar p 8e-6 against a)
    but independent of b (p 0.18). The leader was the first tied model by name: named a, c was
    ranked 3; renamed z (b first), c was ranked 1 with the same numbers. Each tied model now
    leads: c joins the group, whatever the names."""
    n = 400
    a = np.zeros(n, bool)
    a[:280] = True
    c = a.copy()
    c[262:280] = False
    b = np.random.default_rng(0).permutation(a)
    for first in ("a", "z"):
        values = {first: a, "b": b, "c": c}
        entries = {name: _ev(_rec(float(x.mean())), x) for name, x in values.items()}
        ranking = paired_tests.rank_with_ties(entries, seed=0)
        assert ranking.ranks == {first: 1, "b": 1, "c": 1}, first
        assert "models tied at the leader's value each lead the group" in ranking.method


def test_interval_fallback_without_tables() -> None:
    entries = {
        "x": _ev(_rec(0.9, "worst_group_acc", (0.85, 0.95))),
        "y": _ev(_rec(0.88, "worst_group_acc", (0.83, 0.93))),
        "z": _ev(_rec(0.5, "worst_group_acc", (0.45, 0.55))),
    }
    ranking = paired_tests.rank_with_ties(entries, seed=0)
    assert ranking.ranks == {"x": 1, "y": 1, "z": 3}
    assert "MOVER from the 95% intervals" in ranking.method


def test_interval_z_matches_a_normal_reference() -> None:
    a, b = _rec(0.70, ci=(0.65, 0.75)), _rec(0.60, ci=(0.52, 0.68))
    res = paired_tests.interval_z(a, b)
    z = 1.959963984540054
    se = np.hypot(0.1 / (2 * z), 0.16 / (2 * z))
    assert res.p_value == pytest.approx(2 * stats.norm.sf(0.1 / se))


def test_interval_z_p_keeps_its_digits_in_the_tail() -> None:
    """A z of 10 is p = 1.5e-23, not 0: 2 (1 - Phi(z)) lost every digit past z = 8.3, and the
    gate and the comparison pages printed such a p as "< 1e-300"."""
    a = _rec(100.0, "throughput_samples_per_s", (97.0, 103.0), unit="samples/s")
    b = _rec(80.0, "throughput_samples_per_s", (77.6, 82.4), unit="samples/s")
    res = paired_tests.interval_z(a, b)
    assert res.p_value is not None and res.se is not None
    reference = 2 * stats.norm.sf(abs(res.diff) / res.se)
    assert 1e-300 < reference < 1e-16
    assert res.p_value == pytest.approx(reference, rel=1e-9, abs=0.0)


def test_no_interval_and_no_table_is_no_test_never_significant() -> None:
    """A number without per-sample data or interval is not tested (it used to be p = 0)."""
    res = paired_tests.compare_records(_ev(_rec(0.9)), _ev(_rec(0.5)), seed=0, name="t")
    assert res.test == "none" and res.p_value is None and not res.tested
    ranking = paired_tests.rank_with_ties({"x": _ev(_rec(0.9)), "y": _ev(_rec(0.5))}, seed=0)
    assert ranking.ranks == {"x": 1, "y": 1} and "no test" in ranking.method


def test_a_ranking_with_nothing_to_compare_claims_no_test() -> None:
    """One model with a number (mnist-seen in the quickstart baseline): its method read "every
    other remaining model is tested against it on the same sample ids (no test needed),
    Holm-corrected", a procedure that never ran. It now says that no test was run and why."""
    rng = np.random.default_rng(1)
    alone = paired_tests.rank_with_ties({"x": _ev(_rec(0.9), rng.random(50) < 0.9)}, seed=0)
    assert alone.ranks == {"x": 1} and not alone.comparisons
    assert "tested against" not in alone.method and "Holm" not in alone.method
    assert "one number to rank, none to compare it with" in alone.method
    flagged = replace(_rec(0.99, ci=(0.97, 1.0)), flags=("gradient_masking_suspected",))
    tiers = paired_tests.rank_with_ties(
        {"flagged": _ev(flagged), "honest": _ev(_rec(0.4, ci=(0.35, 0.45)))}, seed=0
    )
    assert tiers.ranks == {"honest": 1, "flagged": 2} and not tiers.comparisons
    assert "tested against" not in tiers.method
    assert "no two numbers of the same kind to compare" in tiers.method
    assert "upper bounds are ranked after" in tiers.method


def test_flagged_and_upper_bound_numbers_never_rank_above_trustworthy_ones() -> None:
    flagged = replace(_rec(0.99, ci=(0.97, 1.0)), flags=("gradient_masking_suspected",))
    bound = replace(_rec(0.95, ci=(0.93, 0.97)), note="decision-based attack: an upper bound")
    honest = _rec(0.40, ci=(0.35, 0.45))
    ranking = paired_tests.rank_with_ties(
        {"flagged": _ev(flagged), "bound": _ev(bound), "honest": _ev(honest)}, seed=0
    )
    assert ranking.ranks["honest"] == 1
    assert ranking.ranks["flagged"] > 1 and ranking.ranks["bound"] > 1
    assert "upper bounds are ranked after" in ranking.method


def test_unstable_timing_is_inconclusive() -> None:
    rate = "samples/s"
    a = replace(_rec(900.0, ci=(100.0, 1000.0), unit=rate), flags=("unstable_timing",))
    b = _rec(1.3, ci=(1.2, 1.4), unit=rate)
    res = paired_tests.compare_records(_ev(a), _ev(b), seed=0, name="t")
    assert res.test == "inconclusive" and res.p_value is None


def test_mann_whitney_on_rounds_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    fast, slow = rng.normal(100, 3, 8), rng.normal(90, 3, 8)
    ev_a = paired_tests.Evidence(record=_rec(100.0, unit="samples/s"), rounds=fast)
    ev_b = paired_tests.Evidence(record=_rec(90.0, unit="samples/s"), rounds=slow)
    res = paired_tests.compare_records(ev_a, ev_b, seed=0, name="t")
    assert res.test == "mann_whitney_rounds"
    assert res.p_value == pytest.approx(stats.mannwhitneyu(fast, slow).pvalue)


def test_mann_whitney_normal_tail_keeps_its_digits() -> None:
    """Above `rank_shift.EXACT_LIMIT` rounds the normal approximation's tail is read from erfc:
    two sets of 80 rounds that never overlap have p about 1e-27, not 0 ("< 1e-300")."""
    from harness.analysis.rank_shift import mann_whitney

    found = mann_whitney(np.arange(80.0) + 100.0, np.arange(80.0))
    assert found is not None
    m = n = 80
    z = (m * n - 0.5 - m * n / 2.0) / np.sqrt(m * n * (m + n + 1) / 12.0)
    reference = 2 * stats.norm.sf(z)
    assert 1e-300 < reference < 1e-16
    assert found[0] == pytest.approx(reference, rel=1e-9, abs=0.0)


def test_per_sample_forms() -> None:
    table = SampleTable.build(
        {
            "sample_id": ["a", "b", "a", "b"],
            "condition": [
                "clean",
                "clean",
                "corruption=fog/severity=1",
                "corruption=fog/severity=1",
            ],
            "label": [0, 1, 0, 1],
            "prediction": [0, 0, 0, 1],
            "correct": [True, False, True, True],
            "confidence": [0.9, 0.8, 0.7, 0.6],
            "brier": [0.1, 0.9, 0.2, 0.3],
        }
    )
    acc = paired_tests.per_sample(_rec(0.5), table)
    assert isinstance(acc, paired_tests.PerSample)
    assert acc.binary and acc.values.tolist() == [True, False]
    brier = paired_tests.per_sample(_rec(0.5, "brier"), table)
    assert isinstance(brier, paired_tests.PerSample)
    assert not brier.binary and brier.values.mean() == pytest.approx(0.5)
    mca = paired_tests.per_sample(_rec(1.0, "mean_corruption_acc"), table)
    assert isinstance(mca, paired_tests.PerSample) and mca.values.mean() == 1.0
    # ECE is a whole-table statistic: recomputed on resamples, checked against the record
    ece = abs(0.9 - 1) + abs(0.8 - 0)  # two bins, one sample each
    form = paired_tests.per_sample(_rec(ece / 2, "ece"), table)
    assert isinstance(form, paired_tests.Resampled) and form.value == pytest.approx(ece / 2)
    assert paired_tests.per_sample(_rec(0.3, "ece"), table) is None  # not this table's ECE


def test_top5_and_class_acc_are_not_taken_as_top1() -> None:
    """top5_acc pairs on top5_correct; a per-class accuracy has no all-sample paired form."""
    from harness.analysis.paired_tests import per_sample
    from harness.core.metric_record import MetricRecord
    from harness.core.sample_table import SampleTable

    table = SampleTable.build(
        {
            "sample_id": ["a", "b", "c"],
            "condition": "clean",
            "label": [0, 1, 2],
            "prediction": [1, 1, 0],
            "correct": [False, True, False],
            "confidence": [0.5, 0.6, 0.7],
            "top5_correct": [True, True, True],
        }
    )

    def rec(metric: str, **context: object) -> MetricRecord:
        return MetricRecord(
            suite="accuracy",
            metric=metric,
            value=1.0,
            unit="fraction",
            higher_is_better=True,
            n=3,
            context=context,
        )

    top5 = per_sample(rec("top5_acc"), table)
    assert isinstance(top5, paired_tests.PerSample)
    assert top5.values.tolist() == [True, True, True]
    assert per_sample(rec("class_acc", **{"class": "0"}), table) is None
    top1 = per_sample(replace(rec("top1_acc"), value=1 / 3), table)
    assert isinstance(top1, paired_tests.PerSample)
    assert top1.values.tolist() == [False, True, False]
    assert per_sample(rec("top1_acc"), table) is None  # 1.0 is not this table's accuracy


def _delong_paired_p(a_in, a_out, b_in, b_out) -> float:  # noqa: ANN001
    """Reference: DeLong, DeLong & Clarke-Pearson (1988) test of two correlated AUROCs."""
    from harness.stats.detection import placements

    va10, va01 = placements(a_in, a_out)
    vb10, vb01 = placements(b_in, b_out)
    m, n = len(a_in), len(a_out)
    s10 = np.cov(np.vstack([va10, vb10]))
    s01 = np.cov(np.vstack([va01, vb01]))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    z = (va10.mean() - vb10.mean()) / np.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def _ood_table(s_in: np.ndarray, s_out: np.ndarray) -> SampleTable:
    m, n = len(s_in), len(s_out)
    return SampleTable.build(
        {
            "sample_id": [f"s{i}" for i in range(m)] + [f"o{i}" for i in range(n)],
            "condition": ["clean"] * m + ["ood=noise"] * n,
            "label": [0] * m + [-1] * n,
            "prediction": [0] * (m + n),
            "correct": [True] * m + [False] * n,
            "confidence": np.r_[s_in, s_out],
            "msp": np.r_[s_in, s_out],
        }
    )


@pytest.mark.parametrize(("shift", "significant"), [(0.0, False), (0.6, True)])
def test_ood_auroc_paired_resampling_agrees_with_delong(shift: float, significant: bool) -> None:
    """A tiny AUROC change from noise is not significant (it was p = 0 without a test)."""
    from sklearn.metrics import roc_auc_score

    from harness.stats.detection import auroc

    gen = np.random.default_rng(1)
    base_in, base_out = gen.normal(1.5, 1, 300), gen.normal(0, 1, 200)
    cur_in = base_in + gen.normal(0, 0.05, 300) - shift
    cur_out = base_out + gen.normal(0, 0.05, 200)
    forms = []
    for s_in, s_out in ((cur_in, cur_out), (base_in, base_out)):
        value = auroc(s_in, s_out)
        assert value == pytest.approx(
            roc_auc_score(np.r_[np.ones(300), np.zeros(200)], np.r_[s_in, s_out])
        )
        rec = MetricRecord(
            suite="shift", metric="ood_auroc", value=value, unit="fraction",
            higher_is_better=True, n=500, condition="ood=noise", context={"score": "msp"},
        )  # fmt: skip
        form = paired_tests.per_sample(rec, _ood_table(s_in, s_out))
        assert isinstance(form, paired_tests.Resampled)
        forms.append(form)
    res = paired_tests.compare(forms[0], forms[1], seed=0, name="ood")
    reference = _delong_paired_p(cur_in, cur_out, base_in, base_out)
    assert res.test == "paired_resample"
    assert (res.p_value is not None and res.p_value < 0.01) == significant
    assert (reference < 0.01) == significant
    if not significant:
        assert res.p_value is not None and res.p_value > 0.05 and reference > 0.05


def _grouped_table(
    seed: int,
    n: int,
    *,
    positive_rate: float,
    region: Callable[[np.random.Generator, int], Any] | None = None,
) -> SampleTable:
    """A binary task's table of a model right on 80% of `n` samples, grouped by `sex` and,
    given `region` (drawn after `sex`), by `region` too."""
    gen = np.random.default_rng(seed)
    label = (gen.random(n) < positive_rate).astype(int)
    prediction = np.where(gen.random(n) < 0.8, label, 1 - label)
    columns = {
        "sample_id": [f"s{i}" for i in range(n)],
        "condition": "clean",
        "label": label,
        "prediction": prediction,
        "correct": label == prediction,
        "confidence": gen.uniform(0.5, 1.0, n),
        "group:sex": gen.choice(["f", "m"], n),
    }
    if region is not None:
        columns["group:region"] = region(gen, n)
    return SampleTable.build(columns)


def test_fairness_disparity_has_a_paired_form_matching_its_record() -> None:
    from harness.stats.groups import group_breakdown
    from harness.suites.fairness.group_metrics import records_from_breakdown

    table = _grouped_table(2, 300, positive_rate=0.4)
    breakdown = group_breakdown(
        table.frame, [("sex",)], num_classes=2, seed=0, condition="clean", resamples=50
    )
    records = {r.metric: r for r in records_from_breakdown(breakdown, suite="fairness")}
    for metric in ("demographic_parity_difference", "equalized_odds_difference", "worst_group_acc"):
        form = paired_tests.per_sample(records[metric], table, FairnessConfig(positive_label=1))
        assert isinstance(form, paired_tests.Resampled), metric
        same = paired_tests.compare(form, form, seed=0, name=metric)
        assert same.diff == 0.0 and same.p_value == 1.0
        # without the job's config (its positive label) a disparity has no paired form
        assert paired_tests.per_sample(records[metric], table) is None


def test_resampled_statistics_on_different_groupings_are_not_paired() -> None:
    """Two models' worst groups under different groupings (the headline's worst-group column)
    are different statistics: compared through their intervals, not paired, never an error."""
    ids = pd.Index([f"s{i}" for i in range(40)])
    values = np.linspace(0.0, 1.0, 40)

    def form(strata: np.ndarray) -> paired_tests.Resampled:
        return paired_tests.Resampled(
            ids=ids, strata=strata, statistic=lambda idx: values[idx].mean(axis=1)
        )

    by_sex, by_age = np.arange(40) % 2, np.arange(40) // 10
    a = paired_tests.Evidence(record=_rec(0.6, "worst_group_acc", (0.5, 0.7)), form=form(by_sex))
    b = paired_tests.Evidence(record=_rec(0.5, "worst_group_acc", (0.4, 0.6)), form=form(by_age))
    res = paired_tests.compare_records(a, b, seed=0, name="t")
    assert res.test == "interval_z" and res.p_value is not None
    same = paired_tests.compare_records(a, replace(b, form=form(by_sex)), seed=0, name="t")
    assert same.test == "paired_resample"


def test_detection_statistics_on_integer_codes_equal_the_float_paths() -> None:
    """The paired OOD forms resample integer score codes (`score_levels`), which take faster
    paths (level counts for AUROC, a 16-bit radix sort for AUPR); every statistic must be the
    same float64 as on the raw scores, ties included."""
    from harness.stats import detection

    gen = np.random.default_rng(0)
    for trial in range(200):
        m, n, r = (int(v) for v in gen.integers(1, 80, 3))
        if trial % 2:  # rounded normals: some ties
            values = np.round(gen.normal(size=m + n) * 3, int(gen.integers(0, 3)))
        else:  # a few levels: many ties
            values = gen.integers(0, int(gen.integers(2, 40)), m + n).astype(np.float64)
        values[m:] -= gen.uniform(0, 2)
        idx = np.concatenate([gen.integers(0, m, (r, m)), m + gen.integers(0, n, (r, n))], axis=1)
        codes = detection.score_levels(values)
        assert codes.dtype == np.int64 and codes.min() == 0
        for name, batch in detection.BATCH.items():
            on_scores = batch(values[idx[:, :m]], values[idx[:, m:]])
            on_codes = batch(codes[idx[:, :m]], codes[idx[:, m:]])
            assert np.array_equal(on_scores, on_codes), (name, trial)


def test_ood_aupr_forms_equal_the_float_statistic_on_their_rows() -> None:
    """The OOD AUPR-In and AUPR-Out forms gather each resample's sort keys at once
    (`paired_forms._keyed_aupr`); every resample's value must be the float64 of
    `detection.aupr_batch` on the raw scores of the same rows: one set, and a mean over three
    tagged sets of different sizes, with ties and without."""
    from harness.analysis import paired_forms
    from harness.core.sample_table import CLEAN
    from harness.stats import detection

    gen = np.random.default_rng(3)
    for trial in range(6):
        sizes = {"ood=a": 40, "ood=b": 25, "ood=c": 60}
        decimals = int(gen.integers(0, 3))
        parts = [(CLEAN, "", np.round(gen.normal(0.0, 1.0, 50), decimals))]
        parts += [
            (c, "near", np.round(gen.normal(-1.0, 1.0, k), decimals)) for c, k in sizes.items()
        ]
        frame = pd.concat(
            [
                pd.DataFrame(
                    {
                        "sample_id": [f"{c}/{i}" for i in range(len(v))],
                        "condition": c,
                        detection.OOD_TAG: tag if c != CLEAN else None,
                        "energy": v,
                        "label": 0,
                        "prediction": 0,
                        "correct": True,
                        "confidence": 1.0,
                    }
                )  # fmt: skip
                for c, tag, v in parts
            ],
            ignore_index=True,
        )
        table = SampleTable(frame)
        scores = {c: v for c, _t, v in parts}
        for metric in ("ood_aupr", "ood_aupr_out"):
            batch, scalar = (
                (detection.aupr_batch, detection.aupr)
                if metric == "ood_aupr"
                else (detection.aupr_out_batch, detection.aupr_out)
            )
            for condition, sets in (("ood=b", ["ood=b"]), ("ood_mean=near", list(sizes))):
                value = float(np.mean([scalar(scores[CLEAN], scores[c]) for c in sets]))
                record = MetricRecord(
                    suite="shift", metric=metric, value=value, unit="fraction",
                    higher_is_better=True, n=1, condition=condition, context={"score": "energy"},
                )  # fmt: skip
                form = paired_forms.per_sample(record, table)
                assert isinstance(form, paired_tests.Resampled), (metric, condition)
                idx = paired_tests.stratified_positions(
                    form.strata, resamples=300, seed=trial, name=metric
                )
                bounds = np.cumsum([50] + [sizes[c] for c in sets])
                ins = scores[CLEAN][idx[:, :50]]
                raw = np.concatenate([scores[CLEAN]] + [scores[c] for c in sets])
                expected = [batch(ins, raw[idx[:, a:b]]) for a, b in itertools.pairwise(bounds)]
                want = expected[0] if len(sets) == 1 else np.mean(expected, axis=0)
                got = form.statistic(idx)
                assert got.tobytes() == np.asarray(want).tobytes(), (trial, metric, condition)


def test_condition_rows_are_selected_once_per_live_table() -> None:
    """A table's rows of a condition are selected once while the table lives (a gate reads
    three metrics of one condition per table) and forgotten with it."""
    import gc

    from harness.analysis import paired_forms

    def table() -> SampleTable:
        return SampleTable.build(
            {
                "sample_id": ["a", "b", "a"],
                "condition": ["clean", "clean", "noise"],
                "label": [0, 1, 0],
                "prediction": [0, 0, 0],
                "correct": [True, False, True],
                "confidence": [0.9, 0.6, 0.7],
            }
        )

    t = table()
    rows = paired_forms.condition_rows(t, "clean")
    assert list(rows["sample_id"]) == ["a", "b"]
    assert paired_forms.condition_rows(t, "clean") is rows
    other = table()
    assert paired_forms.condition_rows(other, "clean") is not rows
    key = id(t)
    del t, rows
    gc.collect()
    assert key not in paired_forms._ROWS


def _resampled(values: np.ndarray) -> paired_tests.Resampled:
    ids = pd.Index([f"s{i}" for i in range(len(values))])
    return paired_tests.Resampled(
        ids=ids,
        strata=np.zeros(len(values), dtype=np.int64),
        statistic=lambda idx: values[idx].mean(axis=1),
    )


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_a_handful_of_samples_is_never_significant(n: int) -> None:
    """n pairs that all moved the same way are 2 of the 2^n ways of swapping A and B within
    the pairs: no test of exchangeable pairs gets below p = 2^(1 - n), and below 6 pairs never
    below 0.05. The paired bootstrap said p = 0.005 for 2 samples (every resample of two positive
    differences is positive), the resampled ECE p = 0 for one sample (a single resample, no
    spread), and constant differences p = 0 at any n: a gate on a smoke subset (limit: 2)
    failed on 'significant regressions' of Brier and ECE."""
    a = np.linspace(0.5, 0.9, n)
    b = a - np.linspace(0.2, 0.3, n)  # every sample worse, by different amounts
    floor = 2.0 ** (1 - n)
    for res in (
        paired_tests.paired_sign_flip(_series(a), _series(b), seed=0, name="t"),
        paired_tests.paired_sign_flip(_series(a), _series(a - 0.25), seed=0, name="t"),
        paired_tests.paired_resample(_resampled(a), _resampled(b), seed=0, name="t"),
    ):
        assert res.p_value is not None and res.p_value >= floor, res
        assert res.p_value >= 0.05 and res.ci is not None, res
        assert res.ci[0] <= 0.0 <= res.ci[1], res  # the interval agrees with the verdict


def test_the_floor_leaves_larger_samples_alone() -> None:
    """From 6 pairs on the bound is below 0.05; a real shift on 300 pairs keeps its p-value
    (2^-299 is far below Hoeffding's bound, which no random flip matched) and constant
    differences on 12 pairs get the exact 2^-11 instead of 0."""
    a = np.linspace(0.0, 1.0, 300)
    noise = 0.05 * np.sin(40 * a)
    res = paired_tests.paired_sign_flip(_series(a + 0.3), _series(a + noise), seed=1, name="t")
    d = 0.3 - noise
    assert res.p_value == pytest.approx(sign_flip.tail_bound(d.sum(), np.square(d).sum()))
    assert 2.0**-299 < res.p_value < 1 / (paired_tests.RESAMPLES + 1)
    six = paired_tests.paired_sign_flip(_series(a[:6] + 0.1), _series(a[:6]), seed=0, name="t")
    assert six.p_value == pytest.approx(2.0**-5)
    twelve = paired_tests.paired_sign_flip(_series(a[:12] + 0.1), _series(a[:12]), seed=0, name="t")
    assert twelve.p_value == pytest.approx(2.0**-11)
    assert twelve.ci == pytest.approx((0.1, 0.1))


def test_a_resampled_test_of_another_statistic_names_it() -> None:
    """ECE is tested debiased (`Resampled.tested`): the difference is one of debiased ECEs, which
    can have the other sign than that of the ECEs shown, so the result says what it compared;
    a statistic tested as shown names nothing."""
    ids = pd.Index([f"s{i}" for i in range(40)])
    values = np.linspace(0.0, 1.0, 40)
    strata = np.zeros(40, dtype=int)

    def form(shift: float, **kw: object) -> paired_tests.Resampled:
        return paired_tests.Resampled(
            ids=ids, strata=strata, statistic=lambda idx: values[idx].mean(axis=1) + shift, **kw
        )

    def debiased(shift: float) -> object:
        return lambda idx: values[idx].mean(axis=1) - shift

    a = form(0.1, tested=debiased(0.1), tested_name="debiased ECE")
    b = form(0.0, tested=debiased(0.0), tested_name="debiased ECE")
    res = paired_tests.compare(a, b, seed=0, name="ece")
    assert res.test == "paired_resample" and res.diff == pytest.approx(-0.1)  # shown: +0.1
    assert res.statistic == "debiased ECE"
    assert res.method == "paired resampling of the debiased ECE"
    plain = paired_tests.compare(form(0.1), form(0.0), seed=0, name="x")
    assert plain.statistic == "" and plain.method == "paired resampling of the statistic"


def _nll(gen: np.random.Generator, n: int) -> np.ndarray:
    """Per-sample NLL of a model right on 90% of the samples (confident when right, not when
    wrong): two such models are equally good, and their differences heavy-tailed."""
    right = gen.random(n) < 0.9
    p = np.where(right, gen.beta(8, 1, n), gen.beta(1, 8, n))
    return np.asarray(-np.log(np.clip(p, 1e-6, 1.0)))


def _exact_permutation_p(d: np.ndarray) -> float:
    return float(
        stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue
    )


def test_sign_flip_is_scipys_exact_permutation_test() -> None:
    """Up to 16 pairs every sign flip is counted: the p-value is scipy's exact one-sample
    permutation test (`permutation_type='samples'` flips signs) to the last bit, on continuous
    differences and on differences in fifths (ties with the observed mean: per-family
    corruption error; scipy gets the integers 5 d, whose sums are exact: on the fifths
    themselves a mean of 0 sums to -6e-18 and scipy miscounts the flips that tie it), and the
    interval excludes 0 exactly when p < 0.05. Four cases at 16 pairs, two of each kind (scipy's
    exact test there is 0.45 s of CPU a case)."""
    gen = np.random.default_rng(21)
    for rep in range(74):
        n = int(gen.integers(2, 13)) if rep < 70 else 16
        if rep % 2:
            fifths = gen.integers(-3, 4, n)
            d, reference = fifths / 5.0, fifths.astype(np.float64)
        else:
            d = reference = gen.standard_t(3, n) + gen.choice([0.0, 0.5, 1.5])
        if np.allclose(d, d[0]):
            continue
        res = paired_tests.paired_sign_flip(_series(d), _series(np.zeros(n)), seed=rep, name="t")
        assert res.test == "paired_sign_flip" and res.ci is not None
        assert res.p_value == _exact_permutation_p(reference), (n, d)
        assert (res.p_value < 0.05) == (res.ci[0] > 0 or res.ci[1] < 0)
        assert res.ci[0] <= res.diff <= res.ci[1]
        # another order of the same pairs: the same p-value (ties do not hang on float sums)
        again = paired_tests.paired_sign_flip(
            _series(d[::-1]), _series(np.zeros(n)), seed=rep, name="t"
        )
        assert again.p_value == res.p_value and again.ci == pytest.approx(res.ci)


def test_sign_flip_interval_is_the_set_of_shifts_not_rejected() -> None:
    """The interval inverts the test: the test of d - delta does not reject at either end
    and rejects just outside it, exact (12 pairs) and with random flips (40 pairs, the same
    flips for every shift)."""
    gen = np.random.default_rng(22)
    for n in (12, 40):
        for rep in range(10):
            d = gen.laplace(0.3, 1.0, n)
            res = paired_tests.paired_sign_flip(_series(d), _series(np.zeros(n)), seed=5, name="t")
            assert res.ci is not None
            for end, outward in ((res.ci[0], -1.0), (res.ci[1], 1.0)):
                step = 1e-9 * outward
                for shift, rejected in ((end, False), (end - step, False), (end + step, True)):
                    p = paired_tests.paired_sign_flip(
                        _series(d - shift), _series(np.zeros(n)), seed=5, name="t"
                    ).p_value
                    assert p is not None and (p < 0.05) == rejected, (n, rep, shift, p)


def _every_flip_p(d: np.ndarray) -> float:
    """The exact two-sided sign-flip p-value by brute force: |sum| of every signed copy of d
    against the data's (integer d: exact sums)."""
    n = len(d)
    signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
    return float(np.mean(np.abs(signs @ d) >= abs(d.sum())))


def test_random_sign_flips_agree_with_the_exact_test() -> None:
    """Above 16 pairs the p-value is (b + 1) / (R + 1) over seeded random flips: within its
    Monte Carlo error of the exact p-value (all 2^18 flips at 18 pairs)."""
    gen = np.random.default_rng(23)
    for rep in range(6):
        d = np.round(gen.laplace(2, 10.0, 18)) if rep % 2 else gen.integers(-2, 3, 18) * 1.0
        exact = _every_flip_p(d)
        res = paired_tests.paired_sign_flip(
            _series(d / 5), _series(np.zeros(18)), seed=rep, name="t", resamples=20_000
        )
        assert res.p_value is not None and res.detail == "20000 random sign flips"
        assert abs(res.p_value - exact) <= 4 * np.sqrt(max(exact * (1 - exact), 1e-3) / 20_000)


def test_a_change_no_random_flip_matches_can_pass_a_large_gates_holm_level() -> None:
    """2,000 random flips give p >= 1 / 2001, and Holm over 129 tests (the quickstart gate's)
    multiplied that to 0.064: a Brier score that rose by 0.3 on 999 of 1,000 samples was "not
    significant". Where no flip is as extreme, Hoeffding's bound on the exact p-value takes
    over; the bound is never below the exact p-value (every flip of 18 pairs)."""
    gen = np.random.default_rng(4)
    base = gen.uniform(0.0, 0.05, 1000)
    worse = base + 0.3
    worse[0] = base[0] - 0.01
    res = paired_tests.paired_sign_flip(_series(worse), _series(base), seed=0, name="t")
    assert res.p_value is not None and res.p_value * 129 < 0.05
    assert res.ci is not None and res.ci[0] > 0  # the interval is the flips' own, as before
    for rep in range(20):
        d = gen.laplace(0.5 if rep % 2 else 2.0, 1.0, 18)
        assert sign_flip.tail_bound(d.sum(), np.square(d).sum()) >= _every_flip_p(d)


def test_paired_sign_flip_false_positive_rate_on_heavy_tails() -> None:
    """No true difference: NLL of two equally good models (heavy-tailed, symmetric
    differences), 1,000 data sets at 12 pairs (every flip) and at 30 (random flips). The
    t-calibrated paired bootstrap rejected 0.083 and 0.078 of these data sets at 0.05 (0.081-
    0.090 at 10-30 pairs in 2,000 others); the sign-flip test, exact under the symmetry its
    null assumes, 0.048 and 0.048. At most 0.065 allowed (the SE of a 0.05 rate over 1,000 data
    sets is 0.007)."""
    gen = np.random.default_rng(24)
    for n in (12, 30):
        rejected = 0
        for rep in range(1000):
            a, b = _nll(gen, n), _nll(gen, n)
            res = paired_tests.paired_sign_flip(_series(a), _series(b), seed=rep, name="t")
            assert res.p_value is not None and res.ci is not None
            significant = res.p_value < 0.05
            assert significant == (res.ci[0] > 0 or res.ci[1] < 0)
            rejected += significant
        assert rejected / 1000 <= 0.065, (n, rejected / 1000)


def test_paired_sign_flip_false_positive_rate_at_ten_pairs() -> None:
    """No true difference, 10 pairs of normal differences, 400 data sets: at most 0.07
    rejected at 0.05 (the plain percentile bootstrap rejected 0.085 of these)."""
    gen = np.random.default_rng(13)
    rejected = 0
    for rep in range(400):
        d = gen.normal(0.0, 1.0, 10)
        res = paired_tests.paired_sign_flip(_series(d), _series(np.zeros(10)), seed=rep, name="t")
        assert res.p_value is not None and res.ci is not None
        significant = res.p_value < 0.05
        assert significant == (res.ci[0] > 0 or res.ci[1] < 0)
        rejected += significant
    assert rejected / 400 <= 0.07


def test_paired_sign_flip_power_stays_the_t_tests() -> None:
    """A true shift of 0.6 sd at 20 pairs (normal) and of 2.5 sd / sqrt(n) on NLL-like
    differences at 30 pairs, 300 data sets each: the sign-flip test detects it about as often
    as the paired t-test (within 0.06), and more often than half the time."""
    gen = np.random.default_rng(25)
    for n, make in (
        (20, lambda: gen.normal(0.6, 1.0, 20)),
        (30, lambda: _nll(gen, 30) - _nll(gen, 30) + 2.5 * 0.93 / np.sqrt(30)),
    ):
        flips = t_test = 0
        for rep in range(300):
            d = make()
            res = paired_tests.paired_sign_flip(
                _series(d), _series(np.zeros(n)), seed=rep, name="t"
            )
            assert res.p_value is not None
            flips += res.p_value < 0.05
            t_test += stats.ttest_1samp(d, 0.0).pvalue < 0.05
        assert flips / 300 >= 0.5 and flips / 300 >= t_test / 300 - 0.06, (n, flips, t_test)


def test_few_random_flips_never_exclude_zero() -> None:
    """With fewer random flips than 1 / alpha no p-value reaches alpha (p >= 1 / (R + 1)):
    the interval holds 0 whatever the data."""
    d = np.linspace(1.0, 2.0, 30)
    res = paired_tests.paired_sign_flip(
        _series(d), _series(np.zeros(30)), seed=0, name="t", resamples=10
    )
    assert res.p_value is not None and res.p_value >= 1 / 11 and res.ci is not None
    assert res.ci[0] <= 0.0 <= res.ci[1]


def test_shared_flips_give_the_same_results() -> None:
    """The flips a ranking keeps for its comparisons (`SharedDraws`) give each comparison
    the result it gets alone, bit for bit."""
    from harness.stats.shared_draws import SharedDraws

    gen = np.random.default_rng(26)
    base = gen.normal(size=500)
    shared = SharedDraws()
    for _rep in range(3):
        other = base + gen.normal(0.05, 1.0, 500)
        alone = paired_tests.paired_sign_flip(_series(base), _series(other), seed=3, name="c")
        kept = paired_tests.paired_sign_flip(
            _series(base), _series(other), seed=3, name="c", shared=shared
        )
        assert alone == kept


def test_paired_resampling_of_a_mean_is_the_paired_t_test() -> None:
    """Paired resampling of a mean statistic reads the resamples' spread: the plug-in sd of a
    mean (s sqrt((n - 1) / n) / sqrt(n)) with the normal's tails gave p-values 0.78 of the
    paired t-test's at 8 samples (median). Expanded by sqrt(n / (n - 1)) and read as Student's t on
    n - 1 df it is the t-test up to the resamples' noise."""
    gen = np.random.default_rng(31)
    for n in (8, 10, 20):
        ratios = []
        for rep in range(30):
            a = gen.normal(0.0, 1.0, n)
            b = a + gen.normal(0.5, 1.0, n)
            res = paired_tests.paired_resample(_resampled(b), _resampled(a), seed=rep, name="t")
            assert res.p_value is not None and res.df == n - 1
            reference = stats.ttest_rel(b, a).pvalue
            if reference > 2.0 ** (1 - n):  # below, the exchangeable floor decides
                ratios.append(res.p_value / reference)
        assert 0.85 < float(np.median(ratios)) < 1.15, (n, np.median(ratios))


def test_paired_resampling_false_positive_rate_at_small_n() -> None:
    """No true difference, 1,000 data sets: the mean of 10 t(3) differences and the balanced
    accuracy of two equally good models on 20 samples of which a fifth are one class (400
    resamples each). The plug-in normal reading rejected 0.086 and 0.072 of these at 0.05;
    with the small-sample expansion 0.046 and 0.052 (at most 0.07 allowed; the SE of a 0.05
    rate over 1,000 data sets is 0.007)."""
    from harness.stats import calibration

    gen = np.random.default_rng(32)
    ids = pd.Index([f"s{i}" for i in range(20)])
    strata = np.zeros(20, dtype=np.int64)

    def balanced(labels: np.ndarray, correct: np.ndarray) -> paired_tests.Resampled:
        return paired_tests.Resampled(
            ids=ids,
            strata=strata,
            statistic=lambda idx: calibration.balanced_accuracy(labels, correct, idx, 2),
        )

    rates = []
    for case in ("mean", "balanced"):
        rejected = used = 0
        for rep in range(1000):
            if case == "mean":
                a, b = _resampled(gen.standard_t(3, 10)), _resampled(gen.standard_t(3, 10))
            else:
                labels = (np.arange(20) < 4).astype(np.int64)
                difficulty = gen.beta(4.0, 1.5, 20)
                a = balanced(labels, gen.random(20) < difficulty)
                b = balanced(labels, gen.random(20) < difficulty)
            res = paired_tests.paired_resample(a, b, seed=rep, name="t", resamples=400)
            if res.p_value is None:
                continue
            assert res.ci is not None
            significant = res.p_value < 0.05
            assert significant == (res.ci[0] > 0 or res.ci[1] < 0)
            rejected += significant
            used += 1
        rates.append(rejected / used)
    assert max(rates) <= 0.07, rates


def test_float_noise_between_two_runs_is_not_significant() -> None:
    """A model against its own re-export: per-sample Brier scores equal up to float noise of
    1e-9. The differences were taken as constant (np.allclose's absolute 1e-8) and the noise's
    mean, 1e-11, as a significant change with p = 2^(1 - n) = 1e-60 on every data set; the
    sign-flip test treats the noise as the noise it is (at most 0.1 of 200 data sets below
    0.05; the SE of a 0.05 rate is 0.015)."""
    gen = np.random.default_rng(27)
    rejected = 0
    for rep in range(200):
        brier = gen.beta(1.0, 6.0, 200)
        again = brier + gen.normal(0.0, 1e-9, 200)
        res = paired_tests.paired_sign_flip(_series(again), _series(brier), seed=rep, name="t")
        assert res.p_value is not None and res.detail != "degenerate (constant differences)"
        rejected += res.p_value < 0.05
    assert rejected / 200 <= 0.1, rejected


class _DictStore:
    """A value store in memory (the report's is harness/present/resampled_cache.py)."""

    def __init__(self) -> None:
        self.values: dict[str, np.ndarray] = {}

    def get(self, digest: str) -> np.ndarray | None:
        return self.values.get(digest)

    def put(self, digest: str, values: np.ndarray) -> None:
        self.values[digest] = values


def _top_half_form(scores: np.ndarray, rows: list[int]) -> paired_tests.Resampled:
    """A whole-table statistic without counted sums (as OOD detection metrics are): the mean of
    the top half of the drawn scores, with the fingerprint of its data; `rows` hears how many
    resamples each call computes."""
    from harness.analysis.paired_forms import _fingerprint

    def statistic(idx: np.ndarray) -> np.ndarray:
        rows.append(idx.shape[0])
        drawn = np.sort(scores[idx], axis=1)
        return np.asarray(drawn[:, drawn.shape[1] // 2 :].mean(axis=1))

    strata = np.zeros(len(scores), dtype=np.int64)
    return paired_tests.Resampled(
        ids=pd.Index([f"s{i}" for i in range(len(scores))]),
        strata=strata,
        statistic=statistic,
        fingerprint=_fingerprint("top half", (scores, strata)),
    )


def test_a_kept_paired_resample_is_the_one_computed_and_data_changes_miss_it() -> None:
    """A report keeps the spread of each resampled pair without counted sums (OOD detection)
    between builds: the kept numbers are those computed, a second build computes the two
    full-sample values only, and another seed or one changed score on either side misses."""
    from harness.stats.shared_draws import SharedDraws

    gen = np.random.default_rng(3)
    xa, xb = gen.normal(0, 1, 300), gen.normal(0.2, 1, 300)
    rows: list[int] = []

    def run(xa: np.ndarray, xb: np.ndarray, seed: int = 1, store: _DictStore | None = None):  # type: ignore[no-untyped-def]
        a, b = _top_half_form(xa, rows), _top_half_form(xb, rows)
        shared = None if store is None else SharedDraws(store)
        return paired_tests.paired_resample(a, b, seed=seed, name="m", shared=shared)

    fresh = run(xa, xb)
    store = _DictStore()
    assert run(xa, xb, store=store) == fresh and len(store.values) == 1
    rows.clear()
    assert run(xa, xb, store=store) == fresh
    assert rows == [1, 1]  # the full samples only: no resampled matrix
    for xa2, xb2, seed in ((xa, xb, 2), (np.r_[xa[:-1], 9.0], xb, 1), (xa, np.r_[xb[:-1], 9.0], 1)):
        rows.clear()
        run(xa2, xb2, seed, store)
        assert max(rows) == paired_tests.RESAMPLES  # computed again
    assert len(store.values) == 4


def test_an_unstable_timing_is_not_tested_and_says_so_once() -> None:
    """The gate's row read "unchanged; not tested: timing unstable (unstable_timing): not
    tested"; the detail names the reason only, its reader says it was not tested."""
    rec = MetricRecord(
        suite="throughput",
        metric="throughput_samples_per_s",
        value=100.0,
        unit="samples/s",
        higher_is_better=True,
        n=6,
        ci=(90.0, 110.0),
        flags=("unstable_timing",),
    )
    ev = paired_tests.Evidence(rec)
    res = paired_tests.compare_records(ev, ev, seed=0, name="t")
    assert res.test == "inconclusive" and not res.tested
    assert res.detail == "timing unstable (unstable_timing)"


def test_paired_sign_flip_does_not_depend_on_the_stored_row_order() -> None:
    """The random signs are drawn over the pairs ordered by sample id: the same two runs whose
    tables store their rows in another order give the identical p-value for the same seed
    (they drew their signs in model A's row order, and the p-value moved)."""
    gen = np.random.default_rng(3)
    n = 200  # above sign_flip.EXACT_MAX: seeded random flips
    ids = [f"s{i:04d}" for i in range(n)]
    a = pd.Series(gen.normal(0.05, 1.0, n), index=pd.Index(ids, name="sample_id"))
    b = pd.Series(gen.normal(0.0, 1.0, n), index=pd.Index(ids, name="sample_id"))
    first = paired_tests.paired_sign_flip(a, b, seed=7, name="t")
    assert first.detail.endswith("random sign flips")
    for rep in range(3):
        order = np.random.default_rng(rep).permutation(n)
        again = paired_tests.paired_sign_flip(a.iloc[order], b.iloc[order[::-1]], seed=7, name="t")
        assert again.p_value == first.p_value
        assert again.ci == first.ci


@pytest.mark.parametrize("storage", ["pyarrow", "python", None])
def test_id_order_is_the_stable_sort_of_the_ids_as_text(storage: str | None) -> None:
    """Arrow-held ids are ordered as numpy's stable argsort of the Python strings: by code point
    (upper case first, accents and characters past the BMP after ASCII, a prefix first), equal
    ids in their order; other indexes (text, numbers) take numpy's path."""
    from harness.analysis.paired_tests import id_order

    texts = ["b", "a\x00", "a", "Z", "é", "e", "😀", "ab", "a", "b10", "b9", "", "\uffff"]
    order = np.random.default_rng(0).permutation(len(texts) * 3) % len(texts)
    values = [texts[i] for i in order]
    ids = pd.Index(values, dtype=None if storage is None else pd.StringDtype(storage))
    want = np.argsort(np.asarray(values, dtype=object), kind="stable")
    got = id_order(ids)
    assert got.tolist() == want.tolist() and got.dtype == want.dtype
    numbers = pd.Index([3, 12, 40, 3])  # sorted as text: "12", "3", "3", "40"
    assert id_order(numbers).tolist() == [1, 0, 3, 2]


def test_id_order_of_arrow_ids_with_nulls_chunks_or_a_selection(tmp_path: Path) -> None:
    """Arrow-held ids read from a file, a selection of them (a condition's rows) or several
    chunks are ordered as their Python strings."""
    import pyarrow as pa

    from harness.analysis.paired_tests import id_order

    values = [f"s{i % 7}-{i}" for i in range(40)][::-1]
    path = tmp_path / "ids.parquet"
    pd.DataFrame({"sample_id": values}).to_parquet(path, index=False)
    read = pd.read_parquet(path)["sample_id"]
    chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([values[:15], values[15:]])))
    for series in (read, read[read.index % 3 != 0], chunked):
        ids = pd.Index(series, name="sample_id")
        want = np.argsort(np.asarray(list(series), dtype=object), kind="stable")
        assert id_order(ids).tolist() == want.tolist()


def test_id_order_is_sorted_once_for_one_tables_ids_in_either_text_type(tmp_path: Path) -> None:
    """A job's sign flip (the stored text type) and its ECE form (the inferred one) sort the
    same Arrow ids once; other ids of the same length are sorted anew, and the order is
    read-only (shared)."""
    from harness.analysis.paired_forms import id_index
    from harness.analysis.paired_tests import id_order

    orders = []
    for k in range(6):  # more tables than are kept
        values = [f"s{(i * (k + 3)) % 31:02d}-{i}" for i in range(31)]
        path = tmp_path / f"ids{k}.parquet"
        column = pd.array(values, dtype=pd.StringDtype("pyarrow"))  # as the suites store ids
        pd.DataFrame({"sample_id": column}).to_parquet(path, index=False)
        read = pd.read_parquet(path)["sample_id"]
        stored, inferred = pd.Index(read, name="sample_id"), id_index(read)
        first = id_order(stored)
        assert id_order(inferred) is first and not first.flags.writeable
        want = np.argsort(np.asarray(values, dtype=object), kind="stable")
        assert first.tolist() == want.tolist()
        orders.append(first.tolist())
    assert len({tuple(o) for o in orders}) > 1


def test_intersection_keys_equal_the_row_wise_join() -> None:
    from harness.stats.groups import intersection_keys

    frame = pd.DataFrame({"a": ["x", "y", "x&z"], "b": [1, 20, 3], "c": [1.5, 2.0, 0.0]})
    for cols in (["a"], ["a", "b"], ["b", "a", "c"]):
        expected = frame[cols].astype(str).agg("&".join, axis=1)
        assert list(intersection_keys(frame, cols)) == list(expected), cols
        assert list(intersection_keys(frame, cols).index) == list(frame.index)


def test_an_intersections_paired_form_joins_its_keys_in_whole_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The intersection's keys were joined row by row in Python (`DataFrame.agg(..., axis=1)`):
    20 s of a 200,000-row run's closing board. Row-wise agg / apply is refused here."""
    from harness.stats.groups import group_breakdown
    from harness.suites.fairness.group_metrics import records_from_breakdown

    table = _grouped_table(
        3, 400, positive_rate=0.5, region=lambda gen, n: gen.choice(["r1", "r2", "r3"], n)
    )
    breakdown = group_breakdown(
        table.frame, [("sex", "region")], num_classes=2, seed=0, condition="clean", resamples=0
    )
    records = {r.metric: r for r in records_from_breakdown(breakdown, suite="fairness")}
    row_wise = pd.DataFrame.agg, pd.DataFrame.apply

    def refuse(name: str):  # type: ignore[no-untyped-def]
        def method(self, func=None, axis=0, *args, **kwargs):  # type: ignore[no-untyped-def]
            if axis in (1, "columns"):
                raise AssertionError(f"row-wise DataFrame.{name}")
            original = row_wise[0] if name == "agg" else row_wise[1]
            return original(self, func, axis, *args, **kwargs)

        return method

    monkeypatch.setattr(pd.DataFrame, "agg", refuse("agg"))
    monkeypatch.setattr(pd.DataFrame, "apply", refuse("apply"))
    form = paired_tests.per_sample(
        records["demographic_parity_difference"], table, FairnessConfig(positive_label=1)
    )
    assert isinstance(form, paired_tests.Resampled)
    assert form.value == pytest.approx(records["demographic_parity_difference"].value)
    assert len(np.unique(form.strata)) == 6


def test_an_intersections_paired_form_keeps_a_group_ending_in_a_nul_apart() -> None:
    """numpy's fixed-width text drops trailing NULs: `np.unique` of the keys as `str` made
    groups "r" and "r\\x00" one level, so the resampled disparity had fewer groups than its
    estimate (the row-wise join's `sorted(keys.unique())` kept them apart)."""
    from harness.stats.groups import group_breakdown
    from harness.suites.fairness.group_metrics import records_from_breakdown

    # the last column of the key: its NUL ends the key (not numpy text, which drops it)
    table = _grouped_table(
        5,
        400,
        positive_rate=0.5,
        region=lambda gen, n: ["r" if b else "r\x00" for b in gen.random(n) < 0.5],
    )
    breakdown = group_breakdown(
        table.frame, [("sex", "region")], num_classes=2, seed=0, condition="clean", resamples=0
    )
    records = {r.metric: r for r in records_from_breakdown(breakdown, suite="fairness")}
    form = paired_tests.per_sample(
        records["demographic_parity_difference"], table, FairnessConfig(positive_label=1)
    )
    assert isinstance(form, paired_tests.Resampled)
    assert len(np.unique(form.strata)) == 4
    assert form.value == pytest.approx(records["demographic_parity_difference"].value)
