"""`Completeness.for_run`: the gaps of one run folder (what `harness groups --run` refuses)."""

from __future__ import annotations

from harness.store.completeness import Completeness, MissingJob


def test_for_run_keeps_the_gaps_of_that_run_folder_only() -> None:
    gaps = Completeness(
        missing=(
            MissingJob("x-1", "a", "digits", "accuracy", "not run: the run is interrupted"),
            MissingJob("y-2", "b", "digits", "accuracy", "its job folder is gone"),
        ),
        unfinished_runs=("x-1 (status interrupted)", "x-10 (status running)"),
        failed=(MissingJob("y-2", "c", "digits", "shift", "boom", failed=True),),
    )
    x = gaps.for_run("x-1")
    assert [m.model for m in x.missing] == ["a"] and x.unfinished_runs == gaps.unfinished_runs[:1]
    assert not x.whole and x.failed == ()
    y = gaps.for_run("y-2")
    assert [m.model for m in y.missing] == ["b"] and y.unfinished_runs == ()
    assert [m.model for m in y.failed] == ["c"]
    assert gaps.for_run("z-3").whole
