"""`--by` (`by=`) that names a column twice in one grouping or a grouping twice is refused in
one line, as the fairness suite's `group_by` is: `sex&sex` gave phantom empty groups `1&2` and
`2&1`, and `label,label` or `sex&age_band,age_band&sex` were silently shown once or twice."""

from __future__ import annotations

from pathlib import Path

import pytest

import harness
from harness.cli.main import main
from harness.core.errors import ResultsError

QUICKSTART = Path(__file__).resolve().parents[2] / "results" / "baselines" / "quickstart"


@pytest.mark.parametrize(
    ("by", "said"),
    [
        ("sex&sex", "--by sex&sex names column 'sex' twice"),
        ("label,label", "--by label,label gives grouping 'label' twice"),
        (
            "sex&age_band,age_band&sex",
            "--by sex&age_band,age_band&sex gives grouping 'sex&age_band' twice "
            "('age_band&sex' is the same one)",
        ),
        ("sex&", "--by sex&: an empty column name in 'sex&'"),
    ],
)
def test_a_repeated_column_or_grouping_is_refused(by: str, said: str, capsys) -> None:
    assert main(["groups", str(QUICKSTART), "--by", by]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {said}"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_api_names_its_keyword() -> None:
    with pytest.raises(ResultsError, match=r"^by='sex&sex' names column 'sex' twice"):
        harness.groups(QUICKSTART, by="sex&sex")
    with pytest.raises(ResultsError, match=r"^by='label,label' gives grouping 'label' twice"):
        harness.groups(QUICKSTART, by=["label", "label"])


@pytest.mark.parametrize("by", [[1], ["sex", None], 3])
def test_the_api_refuses_a_by_that_is_not_text(by: object) -> None:
    """by=[1] raised TypeError 'sequence item 0: expected str instance, int found' (before the
    form check: AttributeError 'int' object has no attribute 'split'), naming no keyword."""
    with pytest.raises(ResultsError, match=r"^by: give a column name or a list of them"):
        harness.groups(QUICKSTART, by=by)  # type: ignore[arg-type]
