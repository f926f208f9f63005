"""An OOD set whose inputs repeat: every copy counts as a sample in the detection metrics, so
their intervals are those of a set as large as the file, not of its distinct inputs. A note
(on the board) says how many inputs are distinct."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.suites.shift.ood.tabular_ood import run_with_ood_set, task_rows


def _run(tmp_path: Path, ood: pd.DataFrame, max_samples: int | None = None) -> list[str]:
    return run_with_ood_set(tmp_path, ood, max_samples).notes


def test_an_ood_set_of_repeated_inputs_says_how_many_are_distinct(tmp_path: Path) -> None:
    gen = np.random.default_rng(1)
    distinct = pd.DataFrame(gen.uniform(0, 1, (10, 4)), columns=["a", "b", "c", "d"])
    notes = _run(tmp_path, pd.concat([distinct] * 6, ignore_index=True))
    said = [n for n in notes if "distinct inputs" in n]
    assert len(said) == 1 and "OOD set 'rep' holds 60 samples but 10 distinct inputs" in said[0]
    assert "built over the 10 distinct inputs" in said[0]
    assert "2.4x too narrow" in said[0]  # sqrt(60 / 10): 6 copies of each input
    assert "paired AUROC tests between detectors and models are built over" in said[0]
    assert "other comparisons of models on this set go through their intervals" in said[0]
    assert not [n for n in _run(tmp_path, distinct) if "distinct inputs" in n]


def test_a_copy_too_few_to_move_the_intervals_gets_no_note(tmp_path: Path) -> None:
    """One input drawn twice among 60 makes the intervals 1.6% too narrow (Kish's effective
    size 58.1 of 60): the quickstart's own natural-patches set (random crops, one drawn twice
    among 300: 0.3%) was told to drop its copies. The note now needs intervals at least 5% too
    narrow; 54 distinct inputs of which 6 twice is 9.5% (effective size 50)."""
    gen = np.random.default_rng(1)
    rows = pd.DataFrame(gen.uniform(0, 1, (59, 4)), columns=["a", "b", "c", "d"])
    once = pd.concat([rows, rows.iloc[:1]], ignore_index=True)
    assert not [n for n in _run(tmp_path, once) if "distinct inputs" in n]
    six = pd.concat([rows.iloc[:54], rows.iloc[:6]], ignore_index=True)
    said = [n for n in _run(tmp_path, six) if "distinct inputs" in n]
    assert len(said) == 1 and "60 samples but 54 distinct inputs" in said[0], said
    assert "1.1x too narrow" in said[0]


def test_an_ood_set_holding_the_test_inputs_says_so(tmp_path: Path) -> None:
    """An OOD file that holds the task's own test inputs (the test CSV without its label column,
    under another name) got AUROC 0.5 with no word of why: every one of its samples is
    in-distribution by construction, yet counts as OOD."""
    cols = ["a", "b", "c", "d"]
    test = task_rows()
    fresh = pd.DataFrame(np.random.default_rng(5).uniform(0, 1, (20, 4)), columns=cols)
    notes = _run(tmp_path, pd.concat([test.iloc[:30], fresh], ignore_index=True))
    said = [n for n in notes if "test inputs" in n]
    assert len(said) == 1, notes
    assert "OOD set 'rep' holds 30 of task 't''s test inputs (of its 50 samples)" in said[0]
    assert not [n for n in _run(tmp_path, fresh) if "test inputs" in n]


def test_test_inputs_outside_the_evaluated_subset_count_too(tmp_path: Path) -> None:
    """With max_samples the test set is a subset, but an OOD set holding inputs of the test
    split outside it holds in-distribution samples all the same: an OOD parquet of 50 digits
    test images was said to hold 3 of them (those among the 80 evaluated)."""
    test = task_rows()
    notes = _run(tmp_path, test.iloc[:30], max_samples=10)  # the OOD set is cut to 10 too
    said = [n for n in notes if "test inputs" in n]
    assert len(said) == 1, notes
    assert "OOD set 'rep' holds 10 of task 't''s test inputs (of its 10 samples)" in said[0]


def test_a_test_split_over_the_cap_is_compared_where_it_was_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading every input of a large test split for this note (ImageNet's 50,000 validation
    images: minutes of decoding) costs more than a `max_samples` run itself: over
    `WHOLE_SPLIT_KEYS` samples the OOD set is compared with the evaluated subset, and the note
    says that the others were not compared."""
    from harness.suites.shift.ood import sets

    monkeypatch.setattr(sets, "WHOLE_SPLIT_KEYS", 40)
    test = task_rows()
    notes = _run(tmp_path, test, max_samples=20)  # 20 of the 60 evaluated; the set cut to 20
    (said,) = [n for n in notes if "test inputs" in n]
    assert (
        "holds 3 of the 20 evaluated test inputs of task 't' (its other 40 not compared: a "
        "test split over 40 samples is not read whole for this note) (of its 20 samples)"
    ) in said
    monkeypatch.setattr(sets, "WHOLE_SPLIT_KEYS", 60)  # the whole split: every one is found
    (whole,) = [n for n in _run(tmp_path, test, max_samples=20) if "test inputs" in n]
    assert "OOD set 'rep' holds 20 of task 't''s test inputs (of its 20 samples)" in whole


def test_the_rows_of_a_set_of_copies_carry_their_input_and_get_no_resampled_form(
    tmp_path: Path,
) -> None:
    """Paired resampling of a set's rows counted every copy as a sample (p-values too small
    by far). The rows of a set whose inputs repeat now carry their input's code
    (`ood_input`), and its records get no resampled form: two models are compared through
    their intervals (built over the distinct inputs). A set without copies keeps its form."""
    from harness.analysis import paired_forms
    from harness.stats.detection import OOD_INPUT

    gen = np.random.default_rng(1)
    distinct = pd.DataFrame(gen.uniform(0, 1, (10, 4)), columns=["a", "b", "c", "d"])
    for ood, repeated in ((pd.concat([distinct] * 6, ignore_index=True), True), (distinct, False)):
        result = run_with_ood_set(tmp_path, ood)
        table = result.table
        assert table is not None
        rows = table.frame[table.frame["condition"] == "ood=rep"]
        assert (OOD_INPUT in rows.columns) == repeated
        if repeated:
            assert rows[OOD_INPUT].nunique() == 10 and len(rows) == 60
        record = next(r for r in result.metrics if r.metric == "ood_auroc")
        form = paired_forms.per_sample(record, table)
        assert (form is None) == repeated
