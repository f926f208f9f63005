"""`harness groups` selection logic (analysis.stored_groups): tables, conditions and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.analysis.stored_groups import GroupQuery, stored_group_rows
from harness.core.errors import ResultsError
from tests.present.synthetic import write_synthetic_run


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("groups")
    write_synthetic_run(root / "res", models={"a": 0.9, "b": 0.6})
    return root / "res"


def test_one_condition_of_every_table_that_has_it(results: Path) -> None:
    query = GroupQuery(condition="attack=linf_pgd/eps=0.1", resamples=20)
    rows = stored_group_rows(results, query)
    assert {(r["model"], r["suite"], r["condition"]) for r in rows} == {
        ("a", "adversarial", "attack=linf_pgd/eps=0.1"),
        ("b", "adversarial", "attack=linf_pgd/eps=0.1"),
    }
    assert {r["group_by"] for r in rows} == {"sex"}


def test_by_label_and_filters(results: Path) -> None:
    skipped: list[str] = []
    query = GroupQuery(model="a", suite="accuracy", by=["label"], resamples=0)
    rows = stored_group_rows(results, query, on_skip=skipped.append)
    assert skipped == [] and {r["group_by"] for r in rows} == {"label"}
    assert {r["condition"] for r in rows} == {"clean"}


def test_missing_condition_is_an_error_naming_the_tables(results: Path) -> None:
    with pytest.raises(ResultsError, match="no stored table has condition 'nope'.*a x digits x"):
        stored_group_rows(results, GroupQuery(condition="nope", resamples=0))
    named = GroupQuery(task="digits", model="a", suite="accuracy", condition="nope", resamples=0)
    with pytest.raises(ResultsError, match="a x digits x accuracy has no condition 'nope'"):
        stored_group_rows(results, named)
    with pytest.raises(ResultsError, match="match --model zzz; available: a x digits x"):
        stored_group_rows(results, GroupQuery(model="zzz"))
