"""The comparison page never calls a difference whose unadjusted 95% interval excludes 0 "no
significant difference": after Holm's correction it says so, shows both p-values, and counts
it apart in the summary."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.analysis.model_comparison import ModelComparison, PairedDiff, SliceDiff
from harness.present.comparison_view import CORRECTED, comparison_view
from harness.present.metric_names import MetricWords
from harness.run.suite_boards import installed_suite_boards

UNGROUPED = SimpleNamespace(task_summary=SimpleNamespace(group_labels={}))


def _diff(key: str, ci: tuple[float, float], p: float, p_holm: float) -> PairedDiff:
    return PairedDiff(
        suite="accuracy",
        key=key,
        unit="fraction",
        higher_is_better=True,
        a=0.9,
        b=0.85,
        diff=0.05,
        ci=ci,
        method="paired Newcombe / exact McNemar",
        n=200,
        p_value=p,
        p_holm=p_holm,
    )


def test_unadjusted_and_adjusted_verdicts_are_told_apart() -> None:
    job: Any = SimpleNamespace(path=Path("jobs/x"), record=UNGROUPED)
    man: Any = SimpleNamespace(run_id="r")
    comp = ModelComparison(task="digits", a="A", b="B")
    comp.sources = {("A", "accuracy"): (man, job), ("B", "accuracy"): (man, job)}
    comp.diffs = [
        _diff("top1_acc", (0.01, 0.09), 0.02, 0.12),  # held back by Holm
        _diff("class_acc[class=3]", (-0.02, 0.12), 0.30, 0.90),  # interval contains 0
        _diff("top5_acc", (0.02, 0.08), 0.001, 0.004),  # significant
    ]
    comp.slices = [
        SliceDiff(
            "accuracy", "class", "class 3", "clean", 40, 0.9, 0.8, 0.1, (0.01, 0.2), 0.03, 0.4
        )
    ]
    view = comparison_view(comp, MetricWords.of(installed_suite_boards()))
    verdicts = [r.verdict for r in view.rows]
    assert verdicts == [CORRECTED, "no significant difference", "A better"]
    assert view.rows[0].p == "0.020" and view.rows[0].p_holm == "0.120"  # both shown
    assert view.top_slices[0].verdict == CORRECTED and view.top_slices[0].p == "0.030"
    assert view.corrected == 2
    assert "not significant after Holm's correction on 1" in view.summary
    assert "no significant difference on 1," in view.summary
    assert view.rows[1].metric == "class accuracy" and view.rows[1].key == "class_acc[class=3]"


def test_significant_slices_past_the_shown_ones_are_counted() -> None:
    """digits-cnn-adv vs digits-cnn in the quickstart: 13 slices differ significantly after
    Holm; the table of "largest significant differences" shows 12, and the 13th (zoom_blur at
    severity 3, Holm p 0.008) sat in "The other 62 slices" with nothing saying so."""
    from harness.present.comparison_view import SHOWN_SLICES

    job: Any = SimpleNamespace(path=Path("jobs/x"), record=UNGROUPED)
    man: Any = SimpleNamespace(run_id="r")
    comp = ModelComparison(task="digits", a="A", b="B")
    comp.sources = {("A", "accuracy"): (man, job), ("B", "accuracy"): (man, job)}
    significant = [
        SliceDiff(
            "accuracy",
            "class",
            f"class {i}",
            "clean",
            300,
            0.9,
            0.8,
            0.1,
            (0.05, 0.15),
            0.0001,
            0.001,
        )
        for i in range(SHOWN_SLICES + 1)
    ]
    plain = SliceDiff(
        "accuracy", "class", "class x", "clean", 300, 0.9, 0.9, 0.0, (-0.05, 0.05), 1.0, 1.0
    )
    comp.slices = [*significant, plain]
    view = comparison_view(comp, MetricWords.of(installed_suite_boards()))
    assert len(view.top_slices) == SHOWN_SLICES and len(view.more_slices) == 2
    assert view.more_significant == 1


def test_group_rows_name_groups_by_their_labels() -> None:
    """The comparison page named a group by its raw value ("group accuracy · by age_band · group
    <40") where the index, the task and model pages say "under 40" (the task's declared label)."""
    summary = SimpleNamespace(group_labels={"age_band": {"<40": "under 40"}})
    job: Any = SimpleNamespace(path=Path("jobs/x"), record=SimpleNamespace(task_summary=summary))
    man: Any = SimpleNamespace(run_id="r")
    comp = ModelComparison(task="diabetes", a="A", b="B")
    comp.sources = {("A", "fairness"): (man, job), ("B", "fairness"): (man, job)}
    comp.diffs = [
        replace(_diff(key, (-0.1, 0.1), 0.5, 0.9), suite="fairness")
        for key in ("group_acc[group=<40,group_by=age_band]", "group_acc[group=1,group_by=sex]")
    ]
    view = comparison_view(comp, MetricWords.of(installed_suite_boards()))
    assert view.rows[0].detail == "by age_band · group under 40", view.rows[0].detail
    assert view.rows[1].detail == "by sex · group 1"  # no label declared: the value
    assert view.rows[0].key == "group_acc[group=<40,group_by=age_band]"  # keys stay raw
