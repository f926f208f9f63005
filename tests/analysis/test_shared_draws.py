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
