"""The typed forms of the record contexts the results side reads (score, class, bins)."""

from __future__ import annotations

from harness.core.calibration_context import CalibrationContext
from harness.core.class_context import ClassContext
from harness.core.detection_context import DetectionContext, score_column


def test_detection_context_names_the_detector_and_its_column() -> None:
    assert DetectionContext.of({"score": "knn"}).detector == "knn"
    assert DetectionContext.of({"eps": 0.1}).detector is None
    assert score_column("neg_entropy") == ("entropy", -1.0)
    assert score_column("energy") == ("energy", 1.0)
    assert score_column("knn") == ("score_knn", 1.0)


def test_detector_columns_are_the_ones_the_shift_suite_writes() -> None:
    from harness.suites.shift.ood.detectors import column_of

    for name in ("msp", "energy", "max_logit", "neg_entropy", "gen", "knn", "odin"):
        assert column_of(name) == score_column(name)[0]


def test_class_context_reads_names_and_indices_as_text() -> None:
    assert ClassContext.of({"class": "cat"}).label == "cat"
    assert ClassContext.of({"class": 3}).label == "3"
    assert ClassContext.of({}).label is None


def test_calibration_context_keeps_only_a_positive_bin_count() -> None:
    assert CalibrationContext.of({"bins": 15}).bins == 15
    assert CalibrationContext.of({"bins": "20"}).bins == 20
    for bad in ({}, {"bins": "many"}, {"bins": 0}, {"bins": None}):
        assert CalibrationContext.of(bad).bins is None


def test_text_threat_context_reads_the_budget_and_orders_by_it() -> None:
    from harness.core.threat_model import TextThreatContext

    char = TextThreatContext.of({"threat": "char", "words": "0.2", "edits": 1, "preset": "fast"})
    assert char == TextThreatContext("char", 0.2, 1)
    assert char.label == "character edits to 20% of words (1 per word)"
    word = TextThreatContext.of({"threat": "word", "words": "0.1"})
    assert word is not None and word.label == "word substitutions of 10% of words"
    # the largest budget: the share of words first, then the edits per word
    budgets = [
        TextThreatContext.of({"threat": "char", "words": w, "edits": e})
        for w, e in (("0.1", 3), ("0.2", 1), ("0.2", 2), ("0.05", 9))
    ]
    assert max(b for b in budgets if b is not None) == TextThreatContext("char", 0.2, 2)
    # not a text threat model, or an unreadable budget: None
    for context in (
        {"norm": "linf", "eps": 0.1},
        {"threat": "pixel", "words": "0.1"},
        {"threat": "word", "words": "many"},
        {"threat": "word", "words": "nan"},
        {"threat": "char", "words": "0.1", "edits": "x"},
    ):
        assert TextThreatContext.of(context) is None, context
