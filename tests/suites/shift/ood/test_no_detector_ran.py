"""A model on which none of the configured OOD detectors runs (`detectors: [knn, mahalanobis]` on
a black-box callable, which gives no features) scores no OOD set. The board said the set had no
results because "the shift job recorded no reason (its job.json notes say nothing about it)",
right above the job's note on why the detectors did not run."""

from __future__ import annotations

from harness.core.metric_record import MetricRecord
from harness.suites.shift.cross_model import columns as cross_model
from harness.suites.shift.cross_model.shift_records import ShiftBoardConfig
from harness.suites.shift.ood.detectors import Bank
from harness.suites.shift.ood.report import ood_notes

WHY = "model 'a': its adapter gives no penultimate features"


def _notes(bank: Bank) -> list[str]:
    return ood_notes(bank, adapter=None)  # type: ignore[arg-type]  # not read


def test_no_detector_ran_says_the_sets_were_not_scored_and_why() -> None:
    bank = Bank(detectors={}, absent={"knn": WHY, "mahalanobis": WHY})
    notes = _notes(bank)
    sets = [n for n in notes if n.startswith("OOD sets not run")]
    assert len(sets) == 1, notes
    assert "knn, mahalanobis" in sets[0] and WHY in sets[0], sets[0]
    config = ShiftBoardConfig(ood_sets=[{"generated": "uniform_noise", "n": 40}])
    records: list[MetricRecord] = []
    (board,) = cross_model.not_run_notes("digits", config, {"a": (records, notes)})
    assert "recorded no reason" not in board, board
    assert WHY in board, board


def test_a_detector_that_ran_adds_no_such_note() -> None:
    bank = Bank(detectors={"msp": object()}, absent={"knn": WHY})  # type: ignore[dict-item]
    assert not any(n.startswith("OOD sets not run") for n in _notes(bank))
