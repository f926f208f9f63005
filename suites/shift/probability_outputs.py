"""A model that returns probabilities where logits are expected (a final softmax): which of the
shift suite's numbers that distorts, and how a job says so.

The clean rows record, per sample, whether the model's output was a probability vector (column
`probability_output`, `harness.core.probability_outputs`). When every clean row was one, the OOD
detection records (per set and tag mean) of each detector that scores the outputs as logits
(`Detector.scores_outputs`: msp, energy, max_logit, neg_entropy, gen, odin) carry the
`probability_outputs` flag, and the job's `checks` artifact and a note say why. Accuracies (an
argmax, which a softmax keeps) and the feature detectors are not flagged: their numbers are
those of the same network returning logits. The suite computes no calibration number.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from harness.core.metric_record import MetricRecord
from harness.core.probability_outputs import COLUMN, FLAG, all_probabilities
from harness.suites.shift.ood.detectors import Bank


def distorted_detectors(bank: Bank, clean_rows: dict[str, Any]) -> list[str]:
    """The detectors whose scores are functions of softmax(probabilities): those that score the
    outputs, when every clean row's output was a probability vector (none otherwise)."""
    if not all_probabilities(clean_rows.get(COLUMN)):
        return []
    return [name for name, d in bank.detectors.items() if d.scores_outputs]


def flag_records(records: list[MetricRecord], detectors: list[str]) -> list[MetricRecord]:
    """The records of `detectors` (context `score`) with the flag added."""
    chosen = set(detectors)
    return [
        replace(r, flags=(*r.flags, FLAG))
        if r.context.get("score") in chosen and FLAG not in r.flags
        else r
        for r in records
    ]


def reason(detectors: list[str]) -> str:
    """Why the detectors' numbers are flagged, in words."""
    return (
        "the model returns probabilities, not logits (a final softmax): the OOD scores "
        f"{', '.join(detectors)} are computed from its outputs as if they were logits (MSP and "
        "entropies of softmax(probabilities), energy of their logsumexp; max_logit is the top "
        "probability), so their detection numbers are not those detectors'; accuracies and the "
        "feature detectors are unaffected; return logits or log-probabilities"
    )


def check_entry(detectors: list[str]) -> dict[str, str]:
    """The job's `checks` artifact entry (its description is the flag's reason on boards)."""
    return {"flag": FLAG, "description": reason(detectors)}
