"""Readable group labels declared on a task reach the stored task summary (for reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness.config.spec import parse_spec_text
from harness.core.errors import SpecError
from harness.core.task import Task
from harness.data.builtin import DIABETES_GROUP_LABELS, diabetes
from harness.data.loader import load_task


def _labelled_task(folder: Path, regions: list[Any], file: str, labels: str) -> Task:
    """A 20-row table of one feature and a `region` group column drawn from `regions`, written
    to `file` (Parquet or CSV), loaded through a spec whose task has `group_labels: {labels}`."""
    gen = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "f1": gen.random(20),
            "label": gen.integers(0, 2, 20),
            "region": gen.choice(regions, 20),
        }
    )
    if file.endswith(".csv"):
        frame.to_csv(folder / file, index=False)
    else:
        frame.to_parquet(folder / file)
    spec = parse_spec_text(
        "tasks:\n"
        f"  - {{name: t, source: {file}, split: train, modality: tabular,\n"
        "     feature_columns: [f1], group_columns: [region],\n"
        f"     group_labels: {{region: {labels}}}}}\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
        source="s.yaml",
    )
    return load_task(spec.tasks[0], base_dir=folder)  # type: ignore[arg-type]


def test_spec_labels_reach_the_summary(tmp_path: Path) -> None:
    task = _labelled_task(tmp_path, ["n", "s"], "t.parquet", "{s: South, n: North}")
    summary = task.summary()
    assert summary.group_labels == {"region": {"s": "South", "n": "North"}}
    assert list(summary.group_labels["region"]) == ["s", "n"]  # the declared order is kept
    assert summary.class_names == ("0", "1")


def test_labels_of_an_undeclared_column_are_a_spec_error() -> None:
    with pytest.raises(SpecError, match="group_labels names age, which is not in group_columns"):
        parse_spec_text(
            "tasks: [{name: t, source: x.csv, modality: tabular, feature_columns: [a],\n"
            "         group_columns: [sex], group_labels: {age: {'1': one}}}]\n"
            "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
            source="s.yaml",
        )


def test_diabetes_declares_readable_groups() -> None:
    summary = diabetes().summary()
    assert summary.group_labels == DIABETES_GROUP_LABELS
    assert list(summary.group_labels["age_band"]) == ["<40", "40-49", "50-59", "60+"]
    # the source does not say which code is which sex: no label is guessed, a note says so
    assert "sex" not in summary.group_labels
    assert "codes sex as 1 and 2 without saying which is which" in summary.group_notes["sex"]


def test_catalogue_labels_fill_only_unlabelled_group_columns() -> None:
    """Documented codings (group_value_labels.py) reach a catalogue task's columns it does not
    label itself, in the documented order; a column the task labels keeps its own."""
    from dataclasses import replace

    from harness.config.planner import _with_labels
    from harness.data.group_value_labels import GROUP_VALUE_LABELS

    task = replace(diabetes(), group_labels={"age_band": {"<40": "young"}})
    labels = {"sex": {"1": "one"}, "age_band": {"<40": "other"}, "absent": {"x": "y"}}
    got = _with_labels(lambda: task, labels)()
    assert got.group_labels == {"age_band": {"<40": "young"}, "sex": {"1": "one"}}
    adult = GROUP_VALUE_LABELS["adult"]["race"]
    assert adult["Amer-Indian-Eskimo"] == "American Indian or Eskimo"
    assert set(GROUP_VALUE_LABELS) == {"adult", "compas", "german-credit"}


def test_bins_of_an_undeclared_column_are_a_spec_error() -> None:
    """`group_bins: {agee: ...}` was never read: the `age` group column was then grouped by each
    of its values (62 groups of a few rows), silently."""
    with pytest.raises(
        SpecError,
        match=r"group_bins names agee, which is not in group_columns \['sex', 'age'\] "
        r"\(did you mean age\?\); bin a declared group column",
    ):
        parse_spec_text(
            "tasks: [{name: t, source: x.csv, modality: tabular, feature_columns: [a],\n"
            "         group_columns: [sex, age], group_bins: {agee: [30, 50]}}]\n"
            "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
            source="s.yaml",
        )


@pytest.mark.parametrize("edges", ["[50, 30]", "[30, 30, 60]", "[30]"])
def test_task_bins_that_do_not_increase_are_a_spec_error(edges: str) -> None:
    """`group_bins: {age: [50, 30]}` passed `harness validate`; the fairness suite then refused
    it in every job. The spec check refuses it, as it does the suite's own `bins`."""
    with pytest.raises(
        SpecError, match=r"group_bins\.age: bin edges must be at least two increasing numbers"
    ):
        parse_spec_text(
            "tasks: [{name: t, source: x.csv, modality: tabular, feature_columns: [a],\n"
            f"         group_columns: [sex, age], group_bins: {{age: {edges}}}}}]\n"
            "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
            source="s.yaml",
        )


def test_numbers_as_group_values_name_the_cells_they_read(tmp_path: Path) -> None:
    """`group_labels: {region: {1: North, 2: South}}` was refused (YAML reads the keys as
    numbers, one error per key); a number names the group value its cells read, as in
    `one_hot`, and the labels reach the summary under those values."""
    task = _labelled_task(tmp_path, [1, 2], "t.csv", "{2: South, 1.0: North}")
    assert task.summary().group_labels == {"region": {"2": "South", "1": "North"}}
    assert set(task.groups()["region"].astype(str)) == {"1", "2"}


def test_labels_of_a_misspelt_column_name_the_group_column_meant() -> None:
    """`group_labels: {sexx: ...}` was refused without the close match that `group_bins`
    gives for the same typo."""
    with pytest.raises(
        SpecError,
        match=r"group_labels names sexx, which is not in group_columns \['sex'\] "
        r"\(did you mean sex\?\); label",
    ):
        parse_spec_text(
            "tasks: [{name: t, source: x.csv, modality: tabular, feature_columns: [a],\n"
            "         group_columns: [sex], group_labels: {sexx: {F: female}}}]\n"
            "models: [digits-mlp]\nsuites: {accuracy: {}}\n",
            source="s.yaml",
        )
