"""A number left out of a headline verdict says every reason that keeps it out.

A text model that returns the same scores for every text keeps its clean accuracy as robust
accuracy: the record is a black-box upper bound AND carries `scores_unchanged`. The verdict
`harness run` ends with (and summary.md, the report's first lines) said only "upper bound, not
ranked", the words every text attack's number gets, so 0.500 for a model that ignores its input
read like any other upper bound."""

from __future__ import annotations

from harness.analysis.caveats import caveats
from harness.analysis.headline import HeadlineColumn, _verdict
from harness.analysis.paired_tests import Ranking
from harness.core.metric_record import MetricRecord

COLUMN = HeadlineColumn("robust_acc", "robust accuracy", "", "fraction", True, "adversarial")
NOTE = "black-box text attacks (class scores only): an upper bound on robust accuracy"


def record(flags: tuple[str, ...]) -> MetricRecord:
    return MetricRecord(
        suite="adversarial",
        metric="robust_acc",
        value=0.5,
        unit="fraction",
        higher_is_better=True,
        n=48,
        ci=(0.364, 0.636),
        note=NOTE,
        flags=flags,
    )


def test_a_flagged_upper_bound_names_its_flag() -> None:
    verdict = _verdict(COLUMN, {"const": (record(("scores_unchanged",)), "")}, Ranking({}, ""))
    ((model, why, _r),) = verdict.excluded
    assert model == "const"
    assert why == "upper bound and UNRELIABLE(scores_unchanged)"


def test_an_upper_bound_alone_keeps_its_words() -> None:
    verdict = _verdict(COLUMN, {"lr": (record(()), "")}, Ranking({}, ""))
    assert [why for _m, why, _r in verdict.excluded] == ["upper bound"]


def test_scores_unchanged_is_explained_in_words() -> None:
    """The report's footnote read "scores unchanged" and nothing else: the text suite's `checks`
    artifact is keyed by threat model, not a list, so its description was never found."""
    (reason,) = [c.reason for c in caveats(record(("scores_unchanged",))) if c.kind == "unreliable"]
    assert reason.startswith("scores unchanged: ") and "probabilities" in reason
