"""The text sweep's results: per-sample worst cases, metric records, table rows, examples.

Cells: per threat model and budget, the cascade after each attack (context `attack`) and the
ensemble after all of them (the headline), cumulative over smaller budgets. Records per ensemble
cell: `robust_acc` over every evaluated sample (Wilson interval), `attack_success_rate` over the
clean-correct ones, `mean_words_changed` and `mean_chars_changed` over the adversarial texts,
`mean_queries` over the attacked samples; per attack: rejected candidates by rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from harness.core.metric_record import MetricRecord, MetricSpec, spec_record
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.seeding import derive_seed
from harness.stats.intervals import WILSON_METHOD, wilson_ci
from harness.suites.adversarial.board import TEXT_METRICS
from harness.suites.adversarial.text.budget import (
    TextBudget,
    Threat,
    text_condition,
    text_ensemble_condition,
)
from harness.suites.adversarial.text.sweep import TextSweep
from harness.suites.adversarial.text.words import segment

BLACKBOX_TEXT_NOTE = (
    "black-box text attacks (class scores only): an upper bound on robust accuracy under this "
    "threat model"
)


@dataclass(frozen=True, kw_only=True)
class TextCell:
    """Per-sample worst case after `after` (None: every attack of the threat) at `budget`."""

    budget: TextBudget
    after: str | None
    condition: str
    broken: np.ndarray
    prediction: np.ndarray
    confidence: np.ndarray
    text: np.ndarray
    words: np.ndarray
    chars: np.ndarray
    queries: np.ndarray
    broken_by: np.ndarray


def text_cells(sweep: TextSweep) -> list[TextCell]:
    """The cascade after each attack, then the ensemble, per threat and budget (ascending)."""
    cells = []
    for threat, names in sweep.plan.attacks.items():
        cells += _threat_cells(sweep, threat, names)
    return cells


def _threat_cells(sweep: TextSweep, threat: Threat, names: list[str]) -> list[TextCell]:
    n = sweep.n
    broken = np.zeros(n, bool)
    prediction = sweep.clean_prediction.copy()
    confidence = sweep.clean_confidence.copy()
    text = np.full(n, "", dtype=object)
    words, chars, queries = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    by = np.full(n, "", dtype=object)
    cells = []
    for budget in sweep.plan.budgets[threat]:
        for k, name in enumerate(names):
            o = sweep.outcomes[(name, budget)]
            hit = o.attacked & o.broken & ~broken
            queries += o.queries
            broken |= hit
            prediction[hit], confidence[hit] = o.prediction[hit], o.confidence[hit]
            text[hit], words[hit], chars[hit], by[hit] = (
                o.text[hit],
                o.words[hit],
                o.chars[hit],
                name,
            )
            last = k == len(names) - 1
            for after in ([name] if len(names) > 1 else []) + ([None] if last else []):
                cond = (
                    text_ensemble_condition(budget)
                    if after is None
                    else text_condition(after, budget)
                )
                cells.append(
                    TextCell(
                        budget=budget,
                        after=after,
                        condition=cond,
                        broken=broken.copy(),
                        prediction=prediction.copy(),
                        confidence=confidence.copy(),
                        text=text.copy(),
                        words=words.copy(),
                        chars=chars.copy(),
                        queries=queries.copy(),
                        broken_by=by.copy(),
                    )
                )
    return cells


def _proportion(spec: MetricSpec, suite: str, hits: np.ndarray, n: int, **kw: Any) -> MetricRecord:
    ci = wilson_ci(float(np.sum(hits)), n)
    return spec_record(
        spec,
        suite=suite,
        value=float(np.sum(hits)) / n if n else None,
        n=n,
        ci=ci,
        ci_method=WILSON_METHOD if ci else None,
        **kw,
    )


def _mean(
    spec: MetricSpec, suite: str, values: np.ndarray, none_note: str, **kw: Any
) -> MetricRecord:
    if len(values) == 0:  # `none_note` says why there is no value (it replaces a `note`)
        return spec_record(spec, suite=suite, value=None, n=0, **{**kw, "note": none_note})
    return spec_record(spec, suite=suite, value=float(np.mean(values)), n=len(values), **kw)


def _tied_note(note: str, sweep: TextSweep) -> str:
    """A robust accuracy's note, with the texts it counts not robust for a tied clean label."""
    tied = int((sweep.clean_tied & sweep.correct).sum())
    if tied == 0:
        return note
    return (
        f"{note}; {tied} of these {sweep.n} texts count as not robust: their clean label ties "
        "another class's score at the top, so only argmax's tie-break made them clean-correct "
        "(see clean_acc)"
    )


def clean_text_record(suite: str, spec: MetricSpec, correct: np.ndarray) -> MetricRecord:
    """Clean accuracy of the texts with its Wilson interval."""
    ci = wilson_ci(float(correct.sum()), len(correct))
    return spec_record(
        spec,
        suite=suite,
        value=float(correct.mean()) if len(correct) else None,
        n=len(correct),
        ci=ci,
        ci_method=WILSON_METHOD if ci else None,
    )


def text_records(
    sweep: TextSweep,
    cells: list[TextCell],
    *,
    suite: str,
    robust_spec: MetricSpec,
    invalid_spec: MetricSpec,
    preset: str,
    flags: Mapping[Threat, tuple[str, ...]] | None = None,
    threat_notes: Mapping[Threat, str] | None = None,
) -> list[MetricRecord]:
    """Every record of the text sweep (the clean record comes from the caller); `flags`: the
    reliability flags of each threat model's robust accuracy and attack success rate;
    `threat_notes`: a note added to both (texts the attacks had no candidate for, texts the
    query budget stopped)."""
    specs = {s.name: s for s in TEXT_METRICS}
    correct = sweep.correct
    records: list[MetricRecord] = []
    for cell in cells:
        flagged = (flags or {}).get(cell.budget.threat, ())
        extra = (threat_notes or {}).get(cell.budget.threat)
        context: dict[str, Any] = {
            "threat": cell.budget.threat,
            "words": f"{cell.budget.words:.6g}",
        }
        if cell.budget.threat == "char":
            context["edits"] = cell.budget.edits
        if cell.after is not None:
            context["attack"] = cell.after
        context["preset"] = preset
        kw: dict[str, Any] = {"condition": cell.condition, "context": context}
        robust = _proportion(
            robust_spec,
            suite,
            sweep.surely_correct & ~cell.broken,
            sweep.n,
            note="; ".join(n for n in (_tied_note(BLACKBOX_TEXT_NOTE, sweep), extra) if n),
            flags=flagged,
            **kw,
        )
        records.append(robust if cell.after is None else replace(robust, headline=False))
        if cell.after is not None:
            continue
        broken = cell.broken & correct
        records.append(
            _proportion(
                specs["attack_success_rate"],
                suite,
                broken[correct],
                int(correct.sum()),
                note=extra,
                flags=flagged,
                **kw,
            )
        )
        none = "no adversarial text at this budget"
        records.append(_mean(specs["mean_words_changed"], suite, cell.words[broken], none, **kw))
        records.append(_mean(specs["mean_chars_changed"], suite, cell.chars[broken], none, **kw))
        records.append(
            _mean(
                specs["mean_queries"],
                suite,
                cell.queries[correct],
                "no correctly classified text to attack",
                note="model queries per attacked text, over the cascade up to this budget",
                **kw,
            )
        )
    for (name, budget), o in sweep.outcomes.items():
        cond = text_condition(name, budget)
        if o.invalid:
            records.append(
                spec_record(
                    invalid_spec,
                    suite=suite,
                    value=float(sum(o.invalid.values())),
                    n=int(o.attacked.sum()),
                    condition=cond,
                    context={"attack": name},
                    note=str(o.invalid),
                )
            )
        if o.rejected:
            records.append(
                spec_record(
                    specs["rejected_candidates"],
                    suite=suite,
                    value=float(o.rejected),
                    n=int(o.attacked.sum()),
                    condition=cond,
                    context={"attack": name},
                    note="candidates the search dropped for a constraint (never scored)",
                )
            )
    return records


def text_table(sweep: TextSweep, cells: list[TextCell]) -> SampleTable:
    """Clean rows, then one block per cell (every sample), the adversarial text stored."""
    sid = np.asarray(sweep.sample_ids, dtype=object)
    n = sweep.n
    correct = sweep.correct
    frames: list[dict[str, object]] = [
        {
            "sample_id": sid,
            "condition": CLEAN,
            "label": sweep.labels,
            "prediction": sweep.clean_prediction,
            "correct": correct,
            "confidence": sweep.clean_confidence,
            "attack_success": np.zeros(n, bool),
            "perturbation_norm": np.full(n, np.nan),
            "broken_by": np.full(n, "", dtype=object),
            "flags": np.full(n, "", dtype=object),
            "adversarial_text": np.full(n, "", dtype=object),
            "words_changed": np.zeros(n, np.int64),
            "chars_changed": np.zeros(n, np.int64),
            "queries": np.zeros(n, np.int64),
        }
    ]
    for c in cells:
        broken = c.broken & correct
        frames.append(
            {
                "sample_id": sid,
                "condition": c.condition,
                "label": sweep.labels,
                "prediction": c.prediction,
                "correct": sweep.surely_correct & ~broken,
                "confidence": c.confidence,
                "attack_success": broken,
                "perturbation_norm": np.full(n, np.nan),
                "broken_by": c.broken_by,
                "flags": np.full(n, "", dtype=object),
                "adversarial_text": c.text,
                "words_changed": c.words,
                "chars_changed": c.chars,
                "queries": c.queries,
            }
        )
    return SampleTable.concat([SampleTable.build(f) for f in frames])


def edited_spans(original: str, adversarial: str) -> tuple[list[list[int]], list[list[int]]]:
    """Character spans of the changed words in the original and in the adversarial text."""
    a, b = segment(original), segment(adversarial)
    spans_a: list[list[int]] = []
    spans_b: list[list[int]] = []
    pos_a, pos_b = 0, 0
    for i, (x, y) in enumerate(zip(a.words, b.words, strict=True)):
        pos_a += len(a.gaps[i])
        pos_b += len(b.gaps[i])
        if x != y:
            spans_a.append([pos_a, pos_a + len(x)])
            spans_b.append([pos_b, pos_b + len(y)])
        pos_a += len(x)
        pos_b += len(y)
    return spans_a, spans_b


def text_examples(
    sweep: TextSweep, cells: list[TextCell], class_names: tuple[str, ...], k: int, seed: int
) -> list[dict[str, Any]]:
    """Up to `k` adversarial texts per threat model at its largest budget (a seeded choice of
    the broken samples), with the spans of their edits for the report's gallery."""
    out: list[dict[str, Any]] = []
    if k == 0:
        return out
    for threat in sweep.plan.attacks:
        cell = next(c for c in reversed(cells) if c.after is None and c.budget.threat == threat)
        rows = np.flatnonzero(cell.broken & sweep.correct)
        order = sorted(rows, key=lambda r: derive_seed(seed, "text-examples", sweep.sample_ids[r]))
        for r in sorted(order[:k]):
            original, adversarial = sweep.texts[r], str(cell.text[r])
            spans_o, spans_a = edited_spans(original, adversarial)
            out.append(
                {
                    "threat": threat,
                    "condition": cell.condition,
                    "attack": str(cell.broken_by[r]),
                    "sample_id": sweep.sample_ids[r],
                    "original": original,
                    "adversarial": adversarial,
                    "original_spans": spans_o,
                    "adversarial_spans": spans_a,
                    "label": class_names[int(sweep.labels[r])],
                    "adversarial_prediction": class_names[int(cell.prediction[r])],
                    "clean_confidence": float(sweep.clean_confidence[r]),
                    "adversarial_confidence": float(cell.confidence[r]),
                    "words_changed": int(cell.words[r]),
                    "chars_changed": int(cell.chars[r]),
                }
            )
    return out
