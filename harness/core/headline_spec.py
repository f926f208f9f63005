"""A suite's headline columns as its board declares them: `HeadlineSpec` (torch-free, no analysis).

The headline board of a task (`harness.analysis.headline`) is a few columns that say which model
is best and how sure that is. Each column is declared by the suite whose records fill it
(`SuiteBoard.headline`): which metric makes it (the first of `metrics` with records on the board),
the words it is shown with, how each model's record is chosen among the metric's records (`pick`),
and where the column sits (`facet`). Direction and unit are the records' own (their `MetricSpec`).
Adding a suite with a headline column edits nothing outside the suite's board.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, get_args

HeadlineFacet = Literal["accuracy", "calibration", "robustness", "shift", "groups", "cost"]
"""What a headline column says of a model; the headline shows its columns in this order (then by
suite name): accuracy, calibration, robustness, shift, groups, cost."""
HEADLINE_FACETS: tuple[HeadlineFacet, ...] = get_args(HeadlineFacet)

HeadlinePick = Literal["clean", "threat_model", "lowest", "first_setting"]
"""How a headline column chooses each model's record among its metric's records:

- `clean`: the record of the clean condition;
- `threat_model`: one column per headline threat model of the task (`Board.headline`), the
  records whose context is that norm and budget; without one, the largest budget of the first
  norm (L-inf before L2), said so. Records whose condition starts with `HeadlineSpec.prefer`
  are the only candidates when there are any (the adversarial suite's worst case over attacks);
- `lowest`: each model's lowest value over its records (e.g. over groupings), the cell saying
  which (`HeadlineSpec.words`);
- `first_setting`: the records of one key, the first in sort order with accelerator (`cuda`)
  keys first, the column saying which setting (`HeadlineSpec.words`).
"""
HEADLINE_PICKS: tuple[HeadlinePick, ...] = get_args(HeadlinePick)

# a record's context -> its setting in words ("sex", "cpu (AMD EPYC), batch 64", "pgd"), read
# through the suite's typed form of its contexts
ContextWords = Callable[[Mapping[str, object]], str]


@dataclass(frozen=True, kw_only=True)
class HeadlineMetric:
    """A metric that can make a headline column, with the words the column shows.

    `id`: the id of the column it makes (unique over the suites' headlines; default: the metric's
    name). `chance`: the metric is an accuracy, shown with its chance level (what a constant prediction
    scores on the evaluated samples) and flagged when every ranked number is at or below it.
    `skill`: a constant prediction can score well on the metric (the ECE of a model that always
    says the class shares is about 0), so it is no merit without skill: the column ranks (and
    stars) only models whose clean accuracy on the board is above chance; the others' numbers
    stay shown, muted, with the reason.
    """

    metric: str
    label: str
    detail: str = ""
    chance: bool = False
    skill: bool = False
    id: str = ""

    @property
    def column_id(self) -> str:
        return self.id or self.metric


@dataclass(frozen=True, kw_only=True)
class HeadlineSpec:
    """One headline column a suite declares (`SuiteBoard.headline`).

    `metrics`: the metrics that can make the column, the first with records on a board wins; `pick`: how each model's record is chosen
    (`HeadlinePick`); `facet`: where it sits (`HeadlineFacet`); `lead`: its verdict is shown above
    the board (clean and robust accuracy); `words`: a record's setting in words (`lowest`,
    `first_setting`, and `threat_model` for the attack when not `prefer`'s); `prefer` and
    `preferred`: `threat_model`'s preferred records (condition prefix) and their words;
    `caveats`: how those of the suite's job notes begin that say the column's numbers mean less
    than they seem (a budget that cannot move the features, or that moves some by many standard
    deviations): the headline shows each such note of a job in the column with its verdict, as
    the board shows it among its notes.
    """

    metrics: tuple[HeadlineMetric, ...]
    facet: HeadlineFacet
    pick: HeadlinePick = "clean"
    lead: bool = False
    words: ContextWords | None = None
    prefer: str = ""
    preferred: str = ""
    caveats: tuple[str, ...] = ()
