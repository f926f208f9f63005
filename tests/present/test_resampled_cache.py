"""The report's resampled values kept between builds (harness/present/resampled_cache.py): a
headline ranking from kept values is the ranking computed afresh, bit for bit; a value is taken
only for the same statistic, per-sample inputs, draws, rows and code; a file that is not whole,
was written by other code or is a link is not read; a build keeps only the values it used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.present import resampled_cache
from harness.present.resampled_cache import NAME, ResampledCache
from harness.run.suite_boards import installed_suite_boards
from harness.stats import calibration
from harness.stats.shared_draws import SharedDraws
from tests.analysis.pinned_outputs import SCALE_BASE


def _rankings(store: ResampledCache | None) -> list[Any]:
    """Every headline ranking of the 12-model folder: ranks and each comparison at full
    precision."""
    outcomes = read_outcomes(SCALE_BASE)
    out: list[Any] = []
    for board in build_boards(SCALE_BASE, suite_boards=installed_suite_boards()):
        head = headline_board(board, outcomes, store=store)
        for column, ranking in zip(head.columns, head.rankings, strict=True):
            comparisons = [
                (a, b, r.test, repr(r.diff), repr(r.p_value), repr(r.se), repr(p))
                for a, b, r, p in ranking.comparisons
            ]
            out.append((column.label, ranking.ranks, comparisons))
    return out


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many resampled ECEs are computed (not taken from a store): models given to
    `counted_debiased_eces` (what `counted_debiased_ece` computes one model's with)."""
    count = [0]
    real = calibration.counted_debiased_eces

    def counting(models: list[Any], *args: Any, **kwargs: Any) -> list[np.ndarray]:
        count[0] += len(models)
        return real(models, *args, **kwargs)

    monkeypatch.setattr(calibration, "counted_debiased_eces", counting)
    return count


def test_kept_values_rank_as_computed_ones(tmp_path: Path, computed: list[int]) -> None:
    fresh = _rankings(None)
    models = computed[0]
    assert models == 12  # every model's ECE, once per ranking
    first = ResampledCache.read(tmp_path)
    assert _rankings(first) == fresh and computed[0] == 2 * models
    first.write(tmp_path)
    second = ResampledCache.read(tmp_path)
    assert _rankings(second) == fresh and computed[0] == 2 * models  # none computed
    second.write(tmp_path / "again")
    assert (tmp_path / "again" / NAME).read_bytes() == (tmp_path / NAME).read_bytes()


def test_a_file_of_other_code_or_not_whole_is_not_read(
    tmp_path: Path, computed: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ResampledCache.read(tmp_path)
    _rankings(store)
    store.write(tmp_path)
    whole = (tmp_path / NAME).read_bytes()
    assert ResampledCache.read(tmp_path)._found  # read back
    head, _, data = whole.partition(b"\n")
    damaged = {
        "truncated": whole[:-8],
        "a value changed": head + b"\n" + data[:-1] + bytes([data[-1] ^ 1]),
        "no header": data,
        "empty": b"",
    }
    for why, content in damaged.items():
        (tmp_path / NAME).write_bytes(content)
        assert ResampledCache.read(tmp_path)._found == {}, why
    (tmp_path / NAME).write_bytes(whole)
    monkeypatch.setattr(resampled_cache, "computing_identity", lambda: "other code")
    assert ResampledCache.read(tmp_path)._found == {}
    monkeypatch.undo()
    (tmp_path / NAME).unlink()
    (tmp_path / "elsewhere").write_bytes(whole)
    os.symlink(tmp_path / "elsewhere", tmp_path / NAME)
    assert ResampledCache.read(tmp_path)._found == {}


def test_a_build_keeps_only_the_values_it_used(tmp_path: Path) -> None:
    store = ResampledCache("code", {})
    store.put("a", np.arange(3.0))
    store.put("b", np.arange(2.0))
    store.put("not kept", np.arange(2, dtype=np.int64))  # not float64: computed each time
    store.write(tmp_path)
    kept = resampled_cache._read(tmp_path / NAME, "code")
    assert sorted(kept) == ["a", "b"]
    later = ResampledCache("code", kept)
    got = later.get("b")
    assert got is not None and got.tobytes() == np.arange(2.0).tobytes()
    assert later.get("gone") is None
    later.write(tmp_path / "next")
    assert sorted(resampled_cache._read(tmp_path / "next" / NAME, "code")) == ["b"]


def test_a_value_is_taken_only_for_the_same_inputs() -> None:
    store = ResampledCache("code", {})
    made: list[str] = []

    def make(tag: str) -> np.ndarray:
        made.append(tag)
        return np.full(4, float(len(made)))

    rows = np.arange(5)
    key = ("resampled", 0, "column", 4)
    first = SharedDraws(store).stored("form", key, rows, lambda: make("first"))
    again = SharedDraws(store).stored("form", key, rows, lambda: make("again"))
    assert made == ["first"] and again.tobytes() == first.tobytes()
    SharedDraws(store).stored("other form", key, rows, lambda: make("other form"))
    SharedDraws(store).stored("form", ("resampled", 1, "column", 4), rows, lambda: make("seed"))
    SharedDraws(store).stored("form", key, rows[::-1].copy(), lambda: make("rows"))
    SharedDraws(store).stored(None, key, rows, lambda: make("no fingerprint"))
    SharedDraws().stored("form", key, rows, lambda: make("no store"))
    assert made == ["first", "other form", "seed", "rows", "no fingerprint", "no store"]


def test_a_fingerprint_follows_every_input_of_the_statistic() -> None:
    from harness.analysis.paired_forms import _fingerprint

    gen = np.random.default_rng(0)
    labels, predictions = gen.integers(0, 3, 50), gen.integers(0, 3, 50)
    confidence = gen.random(50)
    strata = np.zeros(50, dtype=np.int64)
    base = _fingerprint("counted ece bins=15 k=3", (labels, predictions, confidence, strata))
    nudged = confidence.copy()
    nudged[7] = np.nextafter(nudged[7], 2.0)
    assert base != _fingerprint("counted ece bins=15 k=3", (labels, predictions, nudged, strata))
    assert base != _fingerprint(
        "counted ece bins=10 k=3", (labels, predictions, confidence, strata)
    )
    assert base != _fingerprint(
        "counted ece bins=15 k=3", (labels, predictions, confidence, strata + 1)
    )
    assert base == _fingerprint(
        "counted ece bins=15 k=3", (labels.copy(), predictions, confidence.copy(), strata)
    )
