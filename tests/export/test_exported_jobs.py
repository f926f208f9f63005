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


def test_a_worst_group_number_is_exported_with_its_groups_n() -> None:
    """The leaderboard gives a worst-group column the worst group's n (49 under 40 on diabetes)
    and keeps every group's (177) under its own name; MLflow's `<name>.n` and the model card's
    `n` gave 177 beside the value and interval of those 49 samples."""
    from pathlib import Path

    from harness.export.exported_jobs import exported_jobs
    from harness.export.model_index import _metric_args

    quickstart = Path(__file__).resolve().parents[2] / "results" / "baselines" / "quickstart"
    (job,) = [
        j for j in exported_jobs(quickstart) if j.model == "diabetes-mlp" and j.suite == "fairness"
    ]
    names = metric_names(job.job.metrics)
    (name,) = [
        k
        for k, r in names.items()
        if r.metric == "worst_group_acc" and r.context.get("group_by") == "age_band"
    ]
    metrics = job.metrics()
    assert metrics[f"{name}.n"] == 49 and metrics[f"{name}.n_all_groups"] == 177
    args = _metric_args(job, names[name])
    assert args["n"] == 49 and args["n_all_groups"] == 177
    (other,) = [k for k, r in names.items() if r.metric == "demographic_parity_difference"
                and r.context.get("group_by") == "age_band"]  # fmt: skip
    assert metrics[f"{other}.n"] == 177 and f"{other}.n_all_groups" not in metrics


def test_list_tags_stay_within_the_tag_value_limit() -> None:
    """A fairness job over 250 small groups flagged 1,148 records small_denominator: its
    `harness.flagged_metrics` tag was 62,097 characters long (`harness.undefined_metrics`
    6,313), over every store's limit on a tag's value (MLflow's own: 8,000; a database
    store's column: VARCHAR(8000)), which truncates it without a word or refuses the run.
    Each list tag stays within TAG_VALUE_LIMIT and says how many names it leaves out."""
    from dataclasses import replace
    from types import SimpleNamespace
    from typing import Any

    from harness.export.exported_jobs import TAG_VALUE_LIMIT, ExportedJob

    records = []
    for i in range(1200):
        flagged = _rec("group_acc", group=f"region-number-{i:04d}", group_by="region")
        undefined = _rec("group_tpr", group=f"region-number-{i:04d}", group_by="region")
        records += [
            replace(flagged, flags=("small_denominator",)),
            replace(undefined, value=None),
        ]
    fake: Any = SimpleNamespace(
        record=SimpleNamespace(model="m", task="t", suite="fairness", notes=()), metrics=records
    )
    job = ExportedJob(job_id="run/job", manifest=fake, job=fake, partial=False)
    tags = job.tags()
    for key in ("harness.flagged_metrics", "harness.undefined_metrics"):
        assert len(tags[key]) <= TAG_VALUE_LIMIT, key
        assert tags[key].endswith("more (1,200 in all)"), tags[key][-80:]
        assert tags[key].startswith("group_")
    assert all(len(v) <= TAG_VALUE_LIMIT for v in tags.values())
    assert tags["flags.group_acc/group_region-number-1199/group_by_region"] == "small_denominator"


def test_each_note_is_a_tag_of_its_metric() -> None:
    """The leaderboard footnotes a number's note (`not this model's own memory`, `not a tail
    latency`, why a number is undefined); MLflow got none of them but an upper bound's, so a
    peak RSS of the whole process read as the model's memory there. Each is `note.<name>`,
    within TAG_VALUE_LIMIT."""
    from dataclasses import replace
    from types import SimpleNamespace
    from typing import Any

    from harness.export.exported_jobs import TAG_VALUE_LIMIT, ExportedJob

    memory = replace(_rec("peak_memory_mb", batch_size=1), note="peak RSS of the process")
    undefined = replace(_rec("group_tpr", group="a"), value=None, note="x" * 9000)
    plain = _rec("top1_acc")
    fake: Any = SimpleNamespace(
        record=SimpleNamespace(model="m", task="t", suite="s", notes=()),
        metrics=[memory, undefined, plain],
    )
    tags = ExportedJob(job_id="run/job", manifest=fake, job=fake, partial=False).tags()
    assert tags["note.peak_memory_mb/batch_size_1"] == "peak RSS of the process"
    assert tags["note.group_tpr/group_a"] == "x" * TAG_VALUE_LIMIT
    assert "note.top1_acc" not in tags


def test_the_jobs_notes_are_the_runs_description() -> None:
    """The boards show a job's notes (`evaluated on a seeded label-stratified subset of 200 of
    719 samples`, `preset fast ...: robust accuracy may sit slightly above preset standard's`,
    `... exposes no gradients: gradient attacks did not run`); an MLflow run had them only in
    its job.json artifact. They are the run's description, cut within TAG_VALUE_LIMIT."""
    from types import SimpleNamespace
    from typing import Any

    from harness.export.exported_jobs import DESCRIPTION_TAG, TAG_VALUE_LIMIT, ExportedJob

    def tags(notes: tuple[str, ...]) -> dict[str, str]:
        record = SimpleNamespace(model="m", task="t", suite="adversarial", notes=notes)
        fake: Any = SimpleNamespace(record=record, metrics=[_rec("top1_acc")])
        return ExportedJob(job_id="run/job", manifest=fake, job=fake, partial=False).tags()

    subset = "evaluated on a seeded label-stratified subset of 200 of 719 samples"
    assert tags((subset, "preset fast"))[DESCRIPTION_TAG] == f"- {subset}\n- preset fast\n"
    long = tags(tuple("x" * 100 for _ in range(100)))[DESCRIPTION_TAG]
    assert len(long) == TAG_VALUE_LIMIT and long.endswith("every note is in job.json)")
    assert DESCRIPTION_TAG not in tags(())
