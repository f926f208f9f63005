"""Texts on which a text attack had no signal: every text its search scored left the model's
class log-probabilities where the clean text had them (`search.MOVED_ATOL`).

A model that ignores its input (or these edits: a wrapper that drops unknown words, a
tokenizer that truncates before the edited words) or whose probabilities are saturated gives
the greedy search nothing to rank or follow, and each such text then counts as robust. That is
robust accuracy of a model whose outputs do not respond, not robustness the search probed, as
a loss that never rises is for the gradient attacks (`validity_checks.loss_not_increasing`, the
same allowed rate and one-sided binomial test). Per threat model, over the texts a search
scored at least one candidate for, across every attack and budget; raised, it becomes the flag
`scores_unchanged` on that threat's robust accuracy and attack success rate, with a note.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from harness.suites.adversarial.text.budget import Threat
from harness.suites.adversarial.text.search import MOVED_ATOL
from harness.suites.adversarial.text.sweep import TextOutcome, TextSweep
from harness.suites.adversarial.validity_checks import LOSS_FLAT_RATE, CheckResult, binomial_check

FLAG = "scores_unchanged"


def _outcomes(sweep: TextSweep, threat: Threat) -> Iterator[TextOutcome]:
    """Every (attack, budget) outcome of one threat model."""
    for name in sweep.plan.attacks[threat]:
        for budget in sweep.plan.budgets[threat]:
            yield sweep.outcomes[(name, budget)]


def flat_score_checks(sweep: TextSweep) -> dict[Threat, CheckResult]:
    """Per threat model: texts whose every scored candidate left the probabilities unmoved,
    out of the texts a search scored candidates for."""
    out: dict[Threat, CheckResult] = {}
    for threat in sweep.plan.attacks:
        searched, moved = np.zeros(sweep.n, bool), np.zeros(sweep.n, bool)
        for o in _outcomes(sweep, threat):
            searched |= o.attacked & (o.queries > 1)
            moved |= o.moved
        out[threat] = binomial_check(
            FLAG,
            int((searched & ~moved).sum()),
            int(searched.sum()),
            LOSS_FLAT_RATE,
            "the model's class probabilities did not move under any text the search scored",
        )
    return out


def flat_score_note(threat: Threat, check: CheckResult) -> str:
    """The job's note for a raised check."""
    return (
        f"{threat}-level attacks: the model's class log-probabilities moved by at most "
        f"{MOVED_ATOL:g} under every text the search scored on {check.bad} of the {check.n} "
        "texts it searched (a model that ignores these edits or its input, or whose "
        "probabilities are saturated): the search had no signal there, and robust accuracy "
        f"counts those texts as robust (flag {FLAG})"
    )


def no_candidate_counts(sweep: TextSweep) -> dict[Threat, tuple[int, int]]:
    """Per threat model: (texts the attacks had no candidate for at any budget, texts attacked
    that have a word the attacks may change). A text the word source has no substitute for
    counts as robust without a single text tried, so robust accuracy there says how much of
    the task the source covers, not how robust the model is."""
    out: dict[Threat, tuple[int, int]] = {}
    for threat in sweep.plan.attacks:
        none, tried = np.zeros(sweep.n, bool), np.zeros(sweep.n, bool)
        for o in _outcomes(sweep, threat):
            none |= o.attacked & o.no_candidates
            tried |= o.attacked & ~o.no_candidates & (o.queries > 1)
        none &= ~tried
        out[threat] = (int(none.sum()), int((none | tried).sum()))
    return out


def no_candidate_note(threat: Threat, bad: int, n: int) -> str:
    """The note on a threat model's records and the job when some texts got no candidate."""
    return (
        f"{bad} of the {n} texts attacked got no candidate: the {threat}-level attack has no "
        "substitute for any word of theirs it may change, so nothing was tried on them and "
        "they count as robust (give a word source that covers the task's words)"
    )


def budget_cut_counts(sweep: TextSweep) -> dict[Threat, tuple[int, int]]:
    """Per threat model: (texts left unbroken whose search some attack's query budget stopped
    with candidates untried, texts attacked and left unbroken). Such a text counts as robust
    though the search never finished on it, so robust accuracy there is an upper bound that a
    larger budget may lower."""
    out: dict[Threat, tuple[int, int]] = {}
    for threat in sweep.plan.attacks:
        cut, attacked, broken = (np.zeros(sweep.n, bool) for _ in range(3))
        for o in _outcomes(sweep, threat):
            cut |= o.attacked & o.cut & ~o.broken
            attacked |= o.attacked
            broken |= o.attacked & o.broken
        left = attacked & ~broken
        out[threat] = (int((cut & left).sum()), int(left.sum()))
    return out


def budget_cut_note(threat: Threat, bad: int, n: int, query_budget: int) -> str:
    """The note on a threat model's records and the job when the budget stopped some texts."""
    return (
        f"{bad} of the {n} texts left unbroken stopped at the query budget ({query_budget} "
        f"model queries per text) with candidates untried: the {threat}-level search did not "
        "finish on them and they count as robust, so robust accuracy is an upper bound that a "
        "larger query_budget may lower (preset standard: 2000)"
    )
