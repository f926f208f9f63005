"""Job notes that a leaderboard shows beside its numbers.

A board's n is the task's and its columns are conditions, so what a suite did that a reader cannot
see from them goes into a job note that the board repeats (once per suite, naming the models when
they differ): a seeded subset (`subsets.subset_note`), for suites that run several budgets or
settings per model, what those are (`settings_note`), and what makes the board's numbers mean
less than they seem to (`caveat_note`: an OOD set labelled with the task's own classes); the texts a model truncated
(`is_truncation_note`) once per model. Notes of other kinds stay in the job.
"""

from __future__ import annotations

from harness.core.subsets import is_subset_note

SETTINGS_NOTE_START = "settings: "
CAVEAT_NOTE_START = "caveat: "
RANDOMISED_MARK = " is randomised: passed the same "
"""What the caveat of a randomised model's job holds (`harness.core.forward_repeats`): the gate
finds it by this."""
BATCH_DEPENDENT_MARK = " for an input change with the other inputs of its batch ("
"""What the caveat of a batch-dependent model's job holds."""
ONE_CLASS_MARK = ": its selection rate, TPR and FPR are the same in every group by construction"
"""What the fairness job's caveat holds when its model predicts one class on every sample
(`suites/fairness/suite.py`), after the words that say which class on how many samples: the gate
finds it by this (its group disparities read 0 by construction)."""


def one_class_words(shown: str, samples: int, where: str = "") -> str:
    """The words that begin a one-class caveat or note ("the model predicts class 1 on every one
    of the 300 samples<where>" and `ONE_CLASS_MARK`), shared by the fairness job's caveat and
    `harness groups`' note so that the gate finds either by the mark."""
    return f"the model predicts class {shown} on every one of the {samples:,} samples{where}{ONE_CLASS_MARK}"


ONE_CLASS_DISPARITIES = frozenset(
    {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
    }
)
"""The group disparities a model that predicts one class on every sample gets by construction
(equal selection rates, TPRs and FPRs in every group): 0, or a ratio of 1 (or undefined)."""


def settings_note(text: str) -> str:
    """A job note the board shows: `settings: <text>` (e.g. the budgets a suite ran)."""
    return f"{SETTINGS_NOTE_START}{text}"


def caveat_note(text: str) -> str:
    """A job note the board shows: `caveat: <text>` (why its numbers may mean less)."""
    return f"{CAVEAT_NOTE_START}{text}"


def is_board_note(note: str) -> bool:
    """Whether a board repeats this job note (a subset, settings or caveat note)."""
    return (
        is_subset_note(note)
        or note.startswith(SETTINGS_NOTE_START)
        or note.startswith(CAVEAT_NOTE_START)
    )


def board_note_text(note: str) -> str:
    """A settings or caveat note's text without its prefix (other notes as they are)."""
    for start in (SETTINGS_NOTE_START, CAVEAT_NOTE_START):
        if note.startswith(start):
            return note.removeprefix(start)
    return note


TRUNCATION_MARK = " reads and are truncated: "
"""What every truncation note (`Truncation.note`) holds: the boards find it by this."""


def is_truncation_note(note: str) -> bool:
    """Whether a job note is a `Truncation.note` (the leaderboard repeats it, once per model)."""
    return TRUNCATION_MARK in note
