"""Why a number must be read with care, in words: upper bounds, reliability flags, below chance.

A report shows every caveat next to its number (not only on hover) and never draws a number as a
winner when its caveat excludes it from comparisons (`Caveat.excludes`): an upper bound from a
decision-based attack, a number carrying a reliability flag, an undefined value. Analysis only:
this module classifies records and renders nothing. No torch here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.analysis.flags import KNOWN_FLAGS
from harness.core.detection_context import DetectionContext
from harness.core.metric_record import MetricRecord
from harness.stats.detection import holds_chance

CaveatKind = Literal[
    "upper_bound", "unreliable", "undefined", "below_chance", "no_interval", "at_chance"
]
# kinds that keep a number out of "best" marks, tie groups and Pareto fronts; `at_chance`: a
# calibration number of a model whose clean accuracy is at or below chance (the headline board
# adds it: a constant guess is well calibrated, which is no merit)
EXCLUDING: frozenset[str] = frozenset({"upper_bound", "unreliable", "undefined", "at_chance"})
SHORT: dict[str, str] = {
    "upper_bound": "upper bound",
    "unreliable": "unreliable",
    "undefined": "undefined",
    "below_chance": "below chance",
    "no_interval": "no interval",
    "at_chance": "model at chance",
}
# Reliability flags raised by the built-in suites, in words (others are shown by name).
FLAG_REASONS: dict[str, str] = {
    "gradient_masking_suspected": "the attack may have failed, so robust accuracy may be "
    "overestimated",
    "insufficient_group_size": "a group is smaller than the suite's minimum group size",
    "insufficient_groups": "fewer than two groups with enough samples",
    "nondeterministic_forward": "repeated forward passes gave different outputs",
    "batch_dependent_forward": "an input's outputs changed with the other inputs of its batch",
    "tied_scores": "the label ties another class at the top of the scores on enough samples that "
    "the tie-break (ties go to the lowest class index) moves the number more than half its "
    "interval",
    "probability_outputs": "the model outputs probabilities, not logits (what is computed "
    "from them as logits is distorted: attack gradients, calibration, OOD scores)",
    "decision_scores": "the model's scores are decision margins (decision_function), not "
    "probabilities: NLL, ECE and Brier are those of softmax(margins), which the model does not "
    "define",
}
_CHANCE_METRICS = frozenset({"ood_auroc"})


@dataclass(frozen=True)
class Caveat:
    """One reason to read a number with care: its kind and the reason in words."""

    kind: CaveatKind
    reason: str

    @property
    def short(self) -> str:
        """The badge text shown on the number (e.g. `upper bound`)."""
        return SHORT[self.kind]

    @property
    def excludes(self) -> bool:
        """Whether the number must stay out of comparisons (never drawn as a winner)."""
        return self.kind in EXCLUDING


def is_upper_bound(record: MetricRecord) -> bool:
    """A number that only bounds the truth from above (e.g. robust accuracy from a
    decision-based attack): its note says so, or a flag names it."""
    return "upper bound" in (record.note or "").lower() or any(
        "upper_bound" in f for f in record.flags
    )


def flag_reason(flag: str, descriptions: Mapping[str, str] | None = None) -> str:
    """A reliability flag in words: the suite's own description when it stored one, else the
    catalogue's (`FLAG_REASONS`, then every built-in flag's line in `flags.KNOWN_FLAGS`)."""
    text = (descriptions or {}).get(flag) or FLAG_REASONS.get(flag) or KNOWN_FLAGS.get(flag)
    return f"{flag.replace('_', ' ')}: {text}" if text else flag.replace("_", " ")


def check_descriptions(artifacts: Mapping[str, Any]) -> dict[str, str]:
    """Flag descriptions from a job's artifacts (the adversarial suite's `checks`: a list, or
    for text attacks a mapping of threat model to check)."""
    checks = artifacts.get("checks")
    out: dict[str, str] = {}
    if isinstance(checks, dict):
        checks = list(checks.values())
    if isinstance(checks, list):
        for c in checks:
            if isinstance(c, dict) and isinstance(c.get("flag"), str):
                out[c["flag"]] = str(c.get("description") or "")
    return out


def caveats(
    record: MetricRecord, descriptions: Mapping[str, str] | None = None
) -> tuple[Caveat, ...]:
    """Every caveat of a record, the excluding ones first."""
    out: list[Caveat] = []
    if record.value is None:
        out.append(Caveat("undefined", record.note or "the metric is undefined here"))
    if is_upper_bound(record):
        out.append(Caveat("upper_bound", record.note or "an upper bound, not an estimate"))
    # A flag the record's note names is explained by that part of the note, in the suite's words
    # and with its numbers ('timing unstable: the rounds vary by 19% ...'), said once; otherwise
    # a flag with no words of its own takes the whole note, once. An upper bound's note is its
    # own.
    note = None if is_upper_bound(record) else record.note
    named = {f: part for f in record.flags if note and (part := _named_in(note, f))}
    if named:
        note = None  # the note is the reason of the flags it names, not of the others
    for flag in record.flags:
        if flag in named:
            reason = named[flag]
        elif note and not (descriptions or {}).get(flag) and flag not in FLAG_REASONS:
            reason, note = f"{flag.replace('_', ' ')}: {note}", None
        else:
            reason = flag_reason(flag, descriptions)
        out.append(Caveat("unreliable", reason))
    out += _below_chance(record)
    if record.value is not None and record.ci is None:
        # a note spent as a flag's or the bound's reason is not why the interval is missing
        whole = record.note or ""
        why = whole if note is None and "interval" in whole.lower() else note
        out.append(Caveat("no_interval", _no_interval_reason(why or "")))
    return tuple(out)


def _named_in(note: str, flag: str) -> str | None:
    """The part of a note that states a flag's reason: from where the flag's words open a clause
    ('timing unstable: ...' for `unstable_timing`, at the start or after '; ') to the note's
    end, as is; or the clause that ends naming the flag ('... a cache answered
    (cached_outputs)'), after the flag's words. None when the note does not name it."""
    words = flag.split("_")
    orders = "|".join(re.escape(" ".join(o)) for o in (words, words[::-1]))
    opened = re.search(rf"(?:^|(?<=; ))(?:{orders}):", note, flags=re.IGNORECASE)
    if opened is not None:
        return note[opened.start() :]
    end = note.find(f"({flag})")
    if end < 0:
        return None
    clause = note[: end + len(flag) + 2].rsplit("; ", 1)[-1]
    return f"{flag.replace('_', ' ')}: {clause}"


def _below_chance(record: MetricRecord) -> list[Caveat]:
    """An OOD AUROC under 0.5 whose interval lies below 0.5 (or that has none): the score ranks
    the wrong way round on that set."""
    if record.metric not in _CHANCE_METRICS or record.value is None or record.value >= 0.5:
        return []
    if holds_chance(record.ci):
        return []  # at chance: the interval does not say it ranks the wrong way round
    note = record.note or ""
    if record.ci is None and note.startswith("no interval") and "below chance" not in note:
        return []  # too few samples (or distinct inputs) for the suite to give a verdict
    score = DetectionContext.of(record.context).detector
    if note.startswith("below chance"):  # the suite's own words, with medians
        return [Caveat("below_chance", f"AUROC {record.value:.2f}, {record.note}")]
    return [
        Caveat(
            "below_chance",
            "an AUROC below chance (0.5): to the "
            + (f"{score} " if score else "")
            + "score the OOD set looks more in-distribution than the test set (it ranks the "
            "test samples as the more unusual ones), so it does not detect this set: worse "
            "than a coin flip",
        )
    ]


def _no_interval_reason(note: str) -> str:
    if "interval" in note.lower():
        return note
    why = "no interval was computed for this number"
    return f"{why} ({note})" if note else why


def excluded(record: MetricRecord | None) -> bool:
    """Whether a record must stay out of comparisons (missing, undefined, bound, flagged)."""
    return record is None or any(c.excludes for c in caveats(record))
