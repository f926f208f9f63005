"""The paired difference of two means over cells (`intervals.cell_mean_difference`): a seeded
simulation of its coverage, and two models equal on every image through the comparisons the CLI
and the report use (`compare_models`, `compare_variants`).

Two models score the same 300 source images in 15 cells. Each image has a difficulty shared by
both models (logit random effect), each model its own per-row noise on top, and both draw their
outcome from the same uniform per row, so they mostly agree (as a variant and its parent do) and
disagree where their probabilities straddle it. The percentile bootstrap of the per-image
differences said [0, 0] whenever the two models agreed everywhere; Newcombe's square-and-add from
the two Wilson intervals, continuity-adjusted at Kish's effective n, does not. Measured coverages are in
docs/shift.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.model_comparison import compare_models
from harness.analysis.paired_forms import cell_mean_form, cell_means, per_sample
from harness.analysis.variant_deltas import compare_variants
from harness.core.hashing import file_sha256
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.core.suite_board import suite_configs
from harness.run.suite_boards import installed_suite_boards
from harness.stats.intervals import cell_mean, cell_mean_difference, newcombe_paired
from harness.store.run_store import StoredJob
from tests.store.records import job_record, run_manifest, task_summary

CONFIGS = suite_configs(installed_suite_boards())

IMAGES, CELLS, REPS = 300, 15, 300
SPREAD = np.linspace(-1.0, 1.0, CELLS)  # cell difficulty (fixed: the cells are not sampled)
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
WEIGHTS = WEIGHTS / WEIGHTS.sum()


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)))


def _truth(a: float, sd: float) -> float:
    """E of the mean over cells of P(correct), logit = a + N(0, sd^2) + cell effect."""
    return float(np.mean([(WEIGHTS * _expit(a + sd * NODES + d)).sum() for d in SPREAD]))


# name: (a of model A, a of model B, image effect sd, per-row noise sd of each model)
SCENARIOS = {
    "equal, nearly identical models (a variant)": (2.0, 2.0, 1.5, 0.3),
    "equal, near 1": (5.0, 5.0, 1.5, 0.5),
    "small difference (~0.006)": (2.0, 1.95, 1.5, 0.3),
    "small difference near 1 (~0.004)": (5.0, 4.8, 1.5, 0.3),
    "clear difference (~0.05), loosely paired": (2.0, 1.5, 1.5, 1.0),
}


def _draw(gen: np.random.Generator, a: float, b: float, sigma: float, tau: float) -> tuple:
    base = gen.normal(0.0, sigma, IMAGES)[:, None] + SPREAD[None, :]
    u = gen.random((IMAGES, CELLS))  # one uniform per row, shared: the models agree mostly
    ya = u < _expit(a + base + gen.normal(0.0, tau, (IMAGES, CELLS)))
    yb = u < _expit(b + base + gen.normal(0.0, tau, (IMAGES, CELLS)))
    return ya, yb


def _coverage(name: str) -> tuple[float, int]:
    a, b, sigma, tau = SCENARIOS[name]
    sd = float(np.hypot(sigma, tau))
    truth = _truth(a, sd) - _truth(b, sd)
    gen = np.random.default_rng(sorted(SCENARIOS).index(name) + 101)
    hits = identical = 0
    for _ in range(REPS):
        ya, yb = _draw(gen, a, b, sigma, tau)
        ma, mb = cell_mean(list(ya.T)), cell_mean(list(yb.T))
        ci = cell_mean_difference(ma, mb)
        assert ci is not None and ci[0] <= ma.value - mb.value <= ci[1]
        identical += bool((ya == yb).all())
        hits += ci[0] <= truth <= ci[1]
    return hits / REPS, identical


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_difference_of_cell_means_covers_about_95_percent(name: str) -> None:
    coverage, _ = _coverage(name)
    assert 0.93 <= coverage <= 0.997, f"{name}: coverage {coverage:.3f}"


def test_one_cell_is_newcombes_paired_interval() -> None:
    """With one cell (no clustering) the interval is Newcombe's method 10, phi's continuity
    adjustment included, at the same z."""
    for both, only_a, only_b, neither in [(90, 0, 0, 10), (50, 12, 3, 35), (3, 1, 2, 40)]:
        xa = np.r_[np.ones(both + only_a), np.zeros(only_b + neither)]
        xb = np.r_[np.ones(both), np.zeros(only_a), np.ones(only_b), np.zeros(neither)]
        ci = cell_mean_difference(cell_mean([xa]), cell_mean([xb]))
        assert ci == pytest.approx(newcombe_paired(both, only_a, only_b, neither), abs=1e-12)


def test_models_equal_everywhere_get_about_z_over_n_eff() -> None:
    gen = np.random.default_rng(3)
    for sigma in (1.5, 0.3):  # outcomes clustered by image, nearly independent across cells
        base = gen.normal(0.0, sigma, IMAGES)[:, None] + SPREAD[None, :]
        y = gen.random((IMAGES, CELLS)) < _expit(2.0 + base)
        mean = cell_mean(list(y.T))
        lo, hi = cell_mean_difference(mean, mean) or (0.0, 0.0)
        assert lo == pytest.approx(-hi) and 1.96 / mean.n_eff < hi < 2.0 * 1.96 / mean.n_eff
        raw = cell_mean_difference(mean, mean, continuity=False) or (0.0, 0.0)
        assert 0.0 <= raw[1] < hi  # unadjusted: only the Wilson intervals' asymmetry is left
    every = cell_mean(list(np.ones((IMAGES, CELLS)).T))  # right everywhere: Wilson at the images
    assert every.ci is not None
    lo, hi = cell_mean_difference(every, every) or (0.0, 0.0)
    assert lo == pytest.approx(every.ci[0] - 1.0) and hi == pytest.approx(1.0 - every.ci[0])


# ------------------------------------------------------------- through the stored comparisons
MANIFEST = run_manifest("r1", [])


def _shift_job(
    path: Path, model: str, y: np.ndarray, lineage: dict | None = None, *, ids: list | None = None
) -> StoredJob:
    """A shift job of `y` (images x cells, or a list of cells with their ids)."""
    cells = list(y.T) if ids is None else list(y)
    cell_ids = [[f"img{i:03d}" for i in range(len(c))] for c in cells] if ids is None else ids
    cols: dict[str, list] = {k: [] for k in ("sample_id", "condition", "label", "prediction")}
    cols["correct"] = []
    for c, (outcome, names) in enumerate(zip(cells, cell_ids, strict=True)):
        cols["sample_id"] += list(names)
        cols["condition"] += [f"corruption=c{c % 5}/severity={c // 5 + 1}"] * len(outcome)
        cols["label"] += [1] * len(outcome)
        cols["prediction"] += [1 if v else 0 for v in outcome]
        cols["correct"] += [bool(v) for v in outcome]
    path.mkdir()
    SampleTable.build({**cols, "confidence": [0.9] * len(cols["label"])}).write_parquet(
        path / "samples.parquet"
    )
    value = float(np.mean([np.mean(c) for c in cells]))
    rec = MetricRecord(
        suite="shift",
        metric="mean_corruption_acc",
        value=value,
        unit="fraction",
        higher_is_better=True,
        n=len(set().union(*map(set, cell_ids))),
        ci=(value - 0.01, value + 0.01),
    )
    record = job_record(
        model,
        "shift",
        task="t",
        summary=task_summary("t", fingerprint="fp"),
        description=lineage or {},
        suite_config_hash="c",
        finished="x",
        files={"samples.parquet": file_sha256(path / "samples.parquet")},
    )
    return StoredJob(path=path, record=record, metrics=[rec])


def test_identical_models_get_an_interval_around_zero(tmp_path: Path) -> None:
    """Two models right and wrong on exactly the same rows: the bootstrap said [0, 0]."""
    y, _ = _draw(np.random.default_rng(8), 3.0, 3.0, 1.5, 0.0)
    jobs = [
        (MANIFEST, _shift_job(tmp_path / "a", "m", y)),
        (MANIFEST, _shift_job(tmp_path / "b", "m@fp16", y, {"parent": "m", "variant": "fp16"})),
    ]
    (diff,) = compare_models(jobs, task="t", a="m", b="m@fp16", configs=CONFIGS).diffs
    assert diff.diff == 0.0 and diff.ci is not None and diff.method.startswith("Newcombe")
    assert diff.ci[0] < -0.001 and diff.ci[1] > 0.001 and diff.ci[1] - diff.ci[0] < 0.02
    assert diff.better == "" and diff.p_value == 1.0
    (comp,) = compare_variants(jobs, configs=CONFIGS)
    (delta,) = comp.deltas
    assert (
        delta.delta == 0.0 and delta.ci is not None and delta.ci[0] < -0.001 < 0.001 < delta.ci[1]
    )
    assert delta.test == "cell_mean_newcombe" and not delta.significant_harm
    assert "interval of the delta" in delta.detail
    from harness.present.variants_view import delta_table

    table = delta_table(comp)
    assert table is not None
    (row,) = table.rows
    shown = str(row[list(table.header).index("95% CI")])
    assert shown.startswith("[-0.") and shown.endswith("]")  # the variants table shows it
    from harness.present.metric_names import MetricWords
    from harness.present.report_views import variant_views
    from harness.run.suite_boards import installed_suite_boards

    (view,) = variant_views([comp], {}, MetricWords.of(installed_suite_boards()))
    assert view.deltas[0].ci == shown  # and the report's variant section


def test_a_clear_difference_is_still_found(tmp_path: Path) -> None:
    gen = np.random.default_rng(9)
    ya, yb = _draw(gen, 2.0, 1.0, 1.5, 0.3)
    jobs = [
        (MANIFEST, _shift_job(tmp_path / "a", "a", ya)),
        (MANIFEST, _shift_job(tmp_path / "b", "b", yb)),
    ]
    (diff,) = compare_models(jobs, task="t", a="a", b="b", configs=CONFIGS).diffs
    assert diff.ci is not None and diff.ci[0] > 0 and diff.better == "a"


def test_unequal_cells_pair_through_each_images_contribution(tmp_path: Path) -> None:
    """A published set's cells hold different images: the per-image means are not the metric,
    each image's contribution (value + m * influence) is, so the pair is compared on the images
    (it was compared through the records' intervals, unpaired) and the means' difference is the
    metrics' difference."""
    gen = np.random.default_rng(10)
    names = [f"img{i:03d}" for i in range(200)]
    ids = [names[: 60 + 28 * c] for c in range(6)]  # 60 to 200 images
    ya = [gen.random(len(i)) < 0.5 + 0.08 * c for c, i in enumerate(ids)]
    yb = [np.where(gen.random(len(i)) < 0.9, a, ~a) for a, i in zip(ya, ids, strict=True)]
    job_a = _shift_job(tmp_path / "a", "a", ya, ids=ids)  # type: ignore[arg-type]
    job_b = _shift_job(tmp_path / "b", "b", yb, ids=ids)  # type: ignore[arg-type]
    rec_a, rec_b = job_a.metrics[0], job_b.metrics[0]
    per_image = pd.DataFrame({"id": np.concatenate(ids), "y": np.concatenate(ya)})
    old_form = per_image.groupby("id")["y"].mean().mean()  # each image's mean over its cells
    assert abs(old_form - (rec_a.value or 0.0)) > 0.01  # ... is not the metric
    mean_a, mean_b = cell_means(rec_a, job_a.table()), cell_means(rec_b, job_b.table())
    assert mean_a is not None and mean_b is not None
    form_a, form_b = per_sample(rec_a, job_a.table()), per_sample(rec_b, job_b.table())
    assert form_a is not None and form_b is not None
    assert form_a.values.mean() == pytest.approx(rec_a.value)
    gap = (form_a.values - form_b.values).mean()  # type: ignore[union-attr]
    assert gap == pytest.approx((rec_a.value or 0.0) - (rec_b.value or 0.0))
    (diff,) = compare_models(
        [(MANIFEST, job_a), (MANIFEST, job_b)], task="t", a="a", b="b", configs=CONFIGS
    ).diffs
    assert diff.method.startswith("Newcombe") and diff.ci == cell_mean_difference(mean_a, mean_b)


def test_equal_cells_form_is_the_per_image_mean() -> None:
    y = np.random.default_rng(11).random((50, 6)) < 0.7
    form = cell_mean_form(cell_mean(list(y.T)))
    assert np.allclose(form.values.to_numpy(), y.mean(axis=1))
