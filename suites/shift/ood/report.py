"""What a job records about its OOD detection besides the table: the metric records of every
set and tag mean, the notes (detectors left out and why, fit adjustments), and the `ood`
artifact (detectors run, left out, the fit subset, the headline detector)."""

from __future__ import annotations

from typing import Any

from harness.core.adapter import ModelAdapter
from harness.core.board_notes import caveat_note
from harness.core.metric_record import MetricRecord
from harness.core.suite import RunContext
from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood.detectors import Bank
from harness.suites.shift.ood.metrics import ScoredSet, set_metrics, tag_means


def ood_records(
    bank: Bank,
    scored: list[ScoredSet],
    clean_rows: dict[str, Any],
    ctx: RunContext,
    headline: str,
) -> list[MetricRecord]:
    """Records of every set and tag; only the headline detector's AUROCs are headline."""
    detectors = list(bank.detectors)
    per_set = [r for s in scored for r in set_metrics(s, clean_rows, detectors, ctx, headline)]
    return per_set + tag_means(scored, clean_rows, detectors, per_set, headline)


def headline_of(bank: Bank, cfg: OODConfig) -> str:
    """The configured headline detector when it ran, else energy when it ran, else the first
    detector that ran (`detectors: [knn, msp], headline: knn` on a model without features fell
    back to energy, which was not configured: no headline record, an empty board row)."""
    if cfg.headline in bank.detectors:
        return cfg.headline
    if "energy" in bank.detectors:
        return "energy"
    return next(iter(bank.detectors), cfg.headline)


def headline_note(bank: Bank, cfg: OODConfig) -> str | None:
    """A board note when the configured headline detector did not run (None when it did, or
    when no detector ran)."""
    shown = headline_of(bank, cfg)
    if shown == cfg.headline:
        return None
    return caveat_note(
        f"OOD headline detector {cfg.headline} did not run "
        f"({bank.absent.get(cfg.headline, 'not among the detectors that ran')}): the board "
        f"shows {shown}"
    )


def ood_notes(bank: Bank, adapter: ModelAdapter) -> list[str]:
    """One note per reason a group of detectors was left out, then the fit's notes."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in bank.absent.items():
        by_reason.setdefault(reason, []).append(name)
    notes = [
        f"OOD detectors {', '.join(names)} not run: {reason}"
        if len(names) > 1
        else f"OOD detector {names[0]} not run: {reason}"
        for reason, names in by_reason.items()
    ]
    if not bank.detectors and bank.absent:  # no set has a record: the board reads why here
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
        notes.append(
            f"OOD sets not run: none of the configured OOD detectors runs on this model ({why}); "
            "list a logit detector (msp, energy) in suites.shift.ood.detectors"
        )
    return notes + [f"OOD fit: {n}" for n in bank.notes]


def ood_artifact(bank: Bank, cfg: OODConfig) -> dict[str, Any]:
    return {
        "detectors": list(bank.detectors),
        "absent": dict(bank.absent),
        "headline": headline_of(bank, cfg),
        "fit": dict(bank.fit),
        "fit_notes": list(bank.notes),
        "features": bank.use_features,
    }
