"""Groups whose declared labels read alike stay apart: in figures, worst-group notes and the
comparison's slices (probe38)."""

from __future__ import annotations

from harness.analysis import figure_data as fd
from harness.core.group_order import group_names
from harness.core.metric_record import MetricRecord

# a, b labelled alike; `good\u200b` labelled as the unlabelled value `good`
LABELS = {"g": {"a": "same", "b": "same", "good\u200b": "good", "c": "cee"}}


def _group_acc(group: str, value: float) -> MetricRecord:
    return MetricRecord(
        suite="fairness",
        metric="group_acc",
        value=value,
        unit="fraction",
        higher_is_better=True,
        n=50,
        ci=(value - 0.1, value + 0.1),
        context={"group": group, "group_by": "g"},
    )


def test_group_names_keep_values_beside_labels_that_read_alike() -> None:
    names = group_names(["a", "b", "good", "good\u200b", "c", "d"], LABELS["g"])
    assert names == {
        "a": "same (a)",
        "b": "same (b)",
        "good": "good",
        "good\u200b": "good (good\u200b)",
        "c": "cee",
        "d": "d",
    }


def test_the_group_figure_draws_distinct_groups_apart() -> None:
    """The per-group figure drew `same (n=63)` twice and `good (n=54)` beside `good (n=56)`."""
    records = {"m": [_group_acc(v, 0.8) for v in ("a", "b", "good", "good\u200b", "c")]}
    (fig,) = fd.group_figures(records, {}, LABELS)
    shown = [fig.labels[v] for v in fig.values]
    assert len(set(shown)) == len(shown), shown
    assert fig.labels["c"] == "cee" and fig.labels["good"] == "good"


def test_the_worst_group_note_tells_a_relabelled_group_from_its_namesake() -> None:
    """`measured on the worst group good (n=54)` named the group `good\\u200b` (labelled
    `good`) while the data held another group `good` (n=56)."""
    from types import SimpleNamespace
    from typing import Any

    from harness.analysis.leaderboard import worst_groups

    per_group = [_group_acc("good", 0.9), _group_acc("good\u200b", 0.7), _group_acc("c", 0.8)]
    worst = MetricRecord(
        suite="fairness",
        metric="worst_group_acc",
        value=0.7,
        unit="fraction",
        higher_is_better=True,
        n=150,
        context={"group_by": "g"},
    )
    summary = SimpleNamespace(group_labels=LABELS)
    job: Any = SimpleNamespace(
        metrics=[*per_group, worst], record=SimpleNamespace(task_summary=summary)
    )
    (group,) = worst_groups(job, worst)
    assert group.group == "good (good\u200b)"
