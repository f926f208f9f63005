"""SharedDraws keeps draws by key and each form's values by key, made once; a caller done with
its forms (the gate, after each job) drops their values and keeps the draws."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from harness.stats.shared_draws import SharedDraws


class _Form:
    pass


def test_draws_and_values_are_made_once_and_values_can_be_dropped() -> None:
    shared = SharedDraws()
    made: list[str] = []

    def make(tag: str) -> np.ndarray:
        made.append(tag)
        return np.arange(3.0)

    draws = shared.draws("column", lambda: make("draws"))
    assert shared.draws("column", lambda: make("draws again")) is draws
    a, b = _Form(), _Form()
    va = shared.values(a, "resampled", lambda: make("a"))
    assert shared.values(a, "resampled", lambda: make("a again")) is va
    shared.values(b, "resampled", lambda: make("b"))
    assert made == ["draws", "a", "b"]

    held = weakref.ref(a)
    shared.forget_values()
    del a, va
    gc.collect()
    assert held() is None  # the forms are no longer kept alive
    assert shared.draws("column", lambda: make("draws again")) is draws  # draws kept
    shared.values(b, "resampled", lambda: make("b again"))  # values made again
    assert made == ["draws", "a", "b", "b again"]


def test_draws_beyond_the_byte_budget_are_dropped_oldest_first_and_made_again(
    monkeypatch,
) -> None:
    """`harness check` of a fairness run (50,000 rows, 9 disparity columns) kept every column's
    (2000, n) resample positions for the whole gate: 9 x 800 MB, 8.1 GB peak (19.8 GB for three
    tasks). Draws are seeded, so one dropped and made again is the same array: SharedDraws
    keeps them within a byte budget, oldest first out, the newest always kept."""
    from harness.stats import shared_draws

    monkeypatch.setattr(shared_draws, "DRAWS_BUDGET", 2_500)
    shared = SharedDraws()
    made: list[str] = []

    def make(tag: str) -> np.ndarray:
        made.append(tag)
        return np.full(100, len(tag), dtype=np.int64)  # 800 bytes

    for tag in ("a", "bb", "ccc"):
        shared.draws(tag, lambda tag=tag: make(tag))
    a = shared.draws("a", lambda: make("a"))  # 3 x 800 bytes fit: kept, now the newest used
    assert made == ["a", "bb", "ccc"]
    shared.draws("dddd", lambda: make("dddd"))  # 4 x 800 do not: "bb", least recently used, goes
    assert shared.draws("a", lambda: make("a")) is a
    bb = shared.draws("bb", lambda: make("bb"))
    assert made == ["a", "bb", "ccc", "dddd", "bb"] and bb.tolist() == [2] * 100
    big = shared.draws("huge", lambda: np.zeros(1_000, dtype=np.int64))  # over the budget alone
    assert shared.draws("huge", lambda: np.ones(1)) is big


def test_draws_over_the_budget_are_dropped_before_the_next_are_made(monkeypatch) -> None:
    """The newest draws are kept even over the budget, but they went only after the next ones
    were made: `harness check` on 300,000 rows held the (n, 2000) float64 counts of one column
    beside the next column's, 4.8 GB each (9.7 GB peak). Over the budget they go first."""
    from harness.stats import shared_draws

    monkeypatch.setattr(shared_draws, "DRAWS_BUDGET", 1_000)
    shared = SharedDraws()
    shared.draws("big", lambda: np.zeros(500, dtype=np.int64))  # 4,000 bytes: over, but newest
    held_while_making: list[int] = []

    def make() -> np.ndarray:
        held_while_making.append(len(shared._draws))
        return np.zeros(10, dtype=np.int64)

    shared.draws("next", make)
    assert held_while_making == [0]
