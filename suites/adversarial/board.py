"""The adversarial suite's metrics as boards and the report show them (torch-free: the results
side reads it; `harness.core.suite_board`): those of image attacks and those of text attacks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.core.board_notes import settings_note
from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import Curve, SuiteBoard, TradeOff

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="robust_acc",
        unit="fraction",
        higher_is_better=True,
        headline=True,
        description="worst case over the attack cascade, cumulative over eps",
        label="robust accuracy",
    ),
    MetricSpec(name="clean_acc", unit="fraction", higher_is_better=True),
    MetricSpec(
        name="min_norm_median",
        unit="input units",
        higher_is_better=True,
        label="median minimal perturbation",
    ),
    MetricSpec(
        name="min_norm_q25",
        unit="input units",
        higher_is_better=True,
        label="minimal perturbation, 25th percentile",
    ),
    MetricSpec(
        name="min_norm_q75",
        unit="input units",
        higher_is_better=True,
        label="minimal perturbation, 75th percentile",
    ),
    MetricSpec(
        name="invalid_adversarials",
        unit="count",
        higher_is_better=False,
        label="invalid adversarials",
    ),
)

TEXT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="attack_success_rate",
        unit="fraction",
        higher_is_better=False,
        description="share of clean-correct texts the attacks broke within the budget",
        label="attack success rate",
    ),
    MetricSpec(name="mean_words_changed", unit="words", higher_is_better=True),
    MetricSpec(name="mean_chars_changed", unit="characters", higher_is_better=True),
    MetricSpec(name="mean_queries", unit="queries", higher_is_better=True),
    MetricSpec(name="rejected_candidates", unit="count", higher_is_better=False),
)

ENSEMBLE = "attack=ensemble"  # the conditions of the per-sample worst case over the attacks


@dataclass(frozen=True)
class AttackContext:
    """What an image-attack record's context names beyond its norm and budget
    (`harness.core.threat_model.ThreatContext`): the attack ("ensemble": the worst case over the
    cascade). The one parser of it on the results side."""

    attack: str

    @classmethod
    def of(cls, context: Mapping[str, object]) -> AttackContext:
        return cls(str(context.get("attack", "attack")))


def attack_words(context: Mapping[str, object]) -> str:
    return AttackContext.of(context).attack


# How the notes begin of budgets in input units that a tabular task's features make meaningless
# (`feature_space.small_budget_note`, `mixed_scale_note`): caveats on robust accuracy.
SMALL_BUDGETS = "budgets in input units are small against"
MIXED_SCALES = "budgets in input units mean different things"
# How the note begins of a tabular task whose categorical or whole-number features the attacks
# move to values no row can hold (`feature_space.unrealisable_note`): a caveat on robust accuracy.
UNREALISABLE = "the attacks move features continuously"

# robust accuracy at the task's headline threat model(s), the worst case over attacks if run
HEADLINE = HeadlineSpec(
    metrics=(HeadlineMetric(metric="robust_acc", label="robust accuracy", chance=True),),
    facet="robustness",
    pick="threat_model",
    lead=True,
    words=attack_words,
    prefer=ENSEMBLE,
    preferred="worst case over attacks",
    caveats=(
        settings_note(SMALL_BUDGETS),
        settings_note(MIXED_SCALES),
        settings_note(UNREALISABLE),
    ),
)

BOARD = SuiteBoard(
    suite="adversarial",
    metrics=(*METRICS, *TEXT_METRICS),
    figures=("adversarial_gallery", "text_examples"),
    headline=(HEADLINE,),
    trade_offs=(TradeOff(metric="robust_acc", against="top1_acc", axis="y"),),
    curves=(
        Curve(
            metric="robust_acc",
            along="budget",
            prefer=ENSEMBLE,
            preferred="worst case (ensemble)",
            words=attack_words,
        ),
    ),
)
