"""The data behind the report's figures (harness.analysis.figure_data): order of group values,
intervals on every point, caveats that keep points off fronts, and the gallery artifacts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.analysis import figure_data as fd
from harness.analysis.leaderboard import build_boards
from harness.core.metric_record import MetricRecord
from harness.run.suite_boards import installed_suite_boards
from harness.store.run_store import load_jobs
from harness.suites.adversarial.board import BOARD as ADVERSARIAL
from harness.suites.throughput.board import BOARD as THROUGHPUT_BOARD
from tests.present.synthetic import CORRUPTIONS, GROUP_LABELS, HOSTILE, write_synthetic_run


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("figdata") / "res"
    models = {"good-model": 0.9, HOSTILE: 0.6, "bound-model": 0.85}
    write_synthetic_run(root, models=models, flag_model="good-model", extras=True)
    return root


def _rec(metric: str, value: float, **kw: object) -> MetricRecord:
    fields: dict = {"suite": "s", "unit": "fraction", "higher_is_better": True, "n": 50}
    fields.update(kw)
    return MetricRecord(metric=metric, value=value, **fields)


def test_group_values_in_age_order() -> None:
    assert fd.value_order(["60+", "50-59", "<40", "40-49"]) == ["<40", "40-49", "50-59", "60+"]
    assert fd.value_order(["[50, 60)", "[40, 50)", "[0, 40)"]) == [
        "[0, 40)",
        "[40, 50)",
        "[50, 60)",
    ]
    assert fd.value_order(["b", "10", "2", "a"]) == ["2", "10", "a", "b"]
    assert fd.value_order(["x", "y", "z"], declared=["z", "x"]) == ["z", "x", "y"]


def test_group_figures_use_declared_labels(results: Path) -> None:
    jobs = [j for _m, j in load_jobs(results)]
    records = {j.record.model: j.metrics for j in jobs if j.record.suite == "fairness"}
    tables = {j.record.model: j.table() for j in jobs if j.record.suite == "accuracy"}
    (fig,) = fd.group_figures(records, tables, GROUP_LABELS)
    assert fig.grouping == "sex" and fig.source.startswith("fairness suite")
    assert fig.values == list(GROUP_LABELS["sex"])  # the declared order
    assert fig.labels == GROUP_LABELS["sex"]
    point = fig.per_model[HOSTILE]["1"]
    assert point.ci is not None and point.n == 100
    assert "good-model" not in fig.per_model  # its fairness job failed: no made-up numbers
    (table_fig,) = fd.group_figures({}, tables, {})
    assert table_fig.source.endswith("(Wilson)") and table_fig.per_model["good-model"]["1"].n == 100


def test_severity_curve_has_intervals(results: Path) -> None:
    job = next(j for _m, j in load_jobs(results) if j.record.suite == "shift")
    a = fd.severity_curve(job.table())
    b = fd.severity_curve(job.table())
    assert [p.x for p in a] == [1.0, 2.0, 3.0] and a == b
    for p in a:
        assert p.ci is not None and p.ci[0] <= p.y <= p.ci[1] and p.n == 200
    points = fd.corruption_points(job.table())
    assert list(points) == list(CORRUPTIONS) and all(len(v) == 3 for v in points.values())


(ROBUST,) = ADVERSARIAL.curves
(THROUGHPUT,) = THROUGHPUT_BOARD.curves


def test_robust_series_prefers_the_worst_case_and_marks_caveats() -> None:
    ens = {"attack": "ensemble", "norm": "linf"}
    records = [
        _rec("robust_acc", 0.5, condition="attack=ensemble/norm=linf/eps=0.1", context={**ens, "eps": "0.1"}, ci=(0.4, 0.6)),
        _rec("robust_acc", 0.6, condition="attack=fgsm/eps=0.1", context={"attack": "fgsm", "norm": "linf", "eps": "0.1"}),
        _rec("robust_acc", 0.9, condition="attack=ensemble/norm=linf/eps=0.05", context={**ens, "eps": "0.05"}, note="an upper bound"),
    ]  # fmt: skip
    panels = fd.robust_series({"m": records}, ROBUST)
    (points,) = panels["linf"].values()
    assert [(p.x, p.caveat) for p in points] == [(0.05, "upper bound"), (0.1, "")]
    per_attack = fd.attack_series(records, ROBUST)["linf"]
    assert set(per_attack) == {"worst case (ensemble)", "fgsm"}


def test_throughput_panels_name_the_machine_and_unstable_timing() -> None:
    ctx = {"device": "cpu", "device_name": "EPYC", "threads": 2, "precision": "fp32"}
    records = [
        _rec("throughput_samples_per_s", 100.0, unit="samples/s", context={**ctx, "batch_size": 1}, ci=(40.0, 160.0)),
        _rec("throughput_samples_per_s", 1000.0, unit="samples/s", context={**ctx, "batch_size": 64}, ci=(990.0, 1010.0)),
        _rec("throughput_samples_per_s", 900.0, unit="samples/s", context={**ctx, "batch_size": 8}, flags=("timing_unstable",)),
    ]  # fmt: skip
    (panel,) = fd.throughput_panels({"m": records}, THROUGHPUT)
    assert panel.machine == "cpu (EPYC) 2 threads fp32"
    assert [(p.x, p.caveat) for p in panel.series["m"]] == [
        (1.0, "unstable timing"),
        (8.0, "unstable timing"),
        (64.0, ""),
    ]


def test_pareto_front_leaves_out_caveated_points(results: Path) -> None:
    (board,) = build_boards(results, suite_boards=installed_suite_boards())
    views = {v.y_key: v for v in fd.pareto_figures(board)}
    robust = views["robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"]
    assert robust.points["bound-model"].caveat == "upper bound"
    assert robust.points["good-model"].caveat == "unreliable"
    assert robust.front == [HOSTILE]  # the only comparable point
    for p in robust.points.values():
        assert p.x_ci is not None and p.y_ci is not None  # error bars on both axes


def test_galleries_follow_the_array_convention(results: Path) -> None:
    jobs = {(j.record.model, j.record.suite): j for _m, j in load_jobs(results)}
    gallery = fd.corruption_gallery(jobs[("good-model", "shift")])
    assert gallery is not None
    assert gallery.corruptions == list(CORRUPTIONS) and gallery.severities == [0, 1, 2, 3]
    assert gallery.images.shape == (2, 4, 3, 1, 8, 8)
    assert all(label is not None for label in gallery.labels)
    assert len(gallery.predictions) == 2 * 4 * 3  # clean (severity 0) and every corruption
    adv = fd.adversarial_gallery(jobs[("good-model", "adversarial")])
    assert adv is not None and adv.attacks == ["linf_pgd"] * 4 and adv.eps == 0.1
    assert adv.clean.shape == adv.perturbed.shape == (4, 1, 8, 8)
    assert np.abs(adv.perturbed - adv.clean).max() <= 0.1 + 1e-6
    assert fd.corruption_gallery(jobs[("good-model", "accuracy")]) is None
    assert fd.displayable((1, 8, 8)) and fd.displayable((3, 32, 32)) and not fd.displayable((10,))
