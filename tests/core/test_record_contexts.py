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
