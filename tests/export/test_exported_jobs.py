"""Metric names for trackers: every stored record keeps a name of its own that MLflow accepts."""

from __future__ import annotations

import re

from harness.core.metric_record import MetricRecord
from harness.export.exported_jobs import KEY_LIMIT, metric_names


def _rec(metric: str, **context: object) -> MetricRecord:
    return MetricRecord(
        suite="fairness",
        metric=metric,
        value=0.5,
        unit="fraction",
        higher_is_better=True,
        n=10,
        context=dict(context),
    )


def test_a_name_that_needs_no_cleaning_is_its_own_records() -> None:
    """Groups `a!` and `a_` both clean to `group_a_`: the first in order (`a!`) took the plain
    name `group_acc/group_a_` and the group really called `a_` got a digest, so a chart of
    `group_acc/group_a_` showed a!'s accuracy beside other runs' a_. The record whose key
    needs no cleaning keeps the plain name, whatever the order; the others get digests."""
    for records in (
        [_rec("group_acc", group="a!"), _rec("group_acc", group="a_")],
        [_rec("group_acc", group="a_"), _rec("group_acc", group="a!")],
    ):
        names = metric_names(records)
        assert names["group_acc/group_a_"].context["group"] == "a_"
        assert len(names) == 2


def test_names_are_the_board_key_as_a_path_and_stay_apart() -> None:
    records = [
        _rec("top1_acc"),
        _rec("group_acc", group="a<b"),
        _rec("group_acc", group="a>b"),  # the same name once cleaned: a digest keeps it apart
        _rec("group_acc", group=".."),
        _rec("group_acc", group="x" * 400),
    ]
    names = metric_names(records)
    assert list(names.values()) == records  # one name each, in order
    first, lt, gt, dots, long = names
    assert (first, lt) == ("top1_acc", "group_acc/group_a_b")
    assert gt.startswith("group_acc/group_a_b--") and dots == "group_acc/group_.."
    assert len(long) + len(".ci_high") + len("flags.") <= KEY_LIMIT
    for name in names:  # MLflow's rule on every platform, and no path tricks
        assert re.fullmatch(r"[/\w.\- ]+", name)
        assert all(part not in ("", ".", "..") for part in name.split("/"))
