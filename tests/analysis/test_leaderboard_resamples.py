"""The leaderboard's cross-model intervals (mCE, relative mCE, effective robustness) resample as
often as the runs asked (`bootstrap_resamples` in each run manifest's spec), not always 1,000;
and a relative mCE that a bootstrap cannot vary gets no zero-width interval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.analysis.leaderboard import build_boards, recorded_resamples
from harness.core.manifest import RunManifest
from harness.run.suite_boards import installed_suite_boards
from harness.stats.intervals import DEFAULT_RESAMPLES
from harness.store.record_file import read_record
from harness.store.run_store import RunStore
from harness.suites.shift.cross_model import columns as cross_model
from tests.present.synthetic import write_synthetic_run
from tests.store.records import run_manifest
from tests.suites.shift.test_cross_model import _board, _cell, _ones


def _manifest(spec: dict[str, Any]) -> RunManifest:
    return run_manifest("r", [], spec={"name": "x", **spec})


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([{}], DEFAULT_RESAMPLES),  # nothing recorded: the default
        ([{"bootstrap_resamples": 250}], 250),
        ([{"bootstrap_resamples": 250}, {"bootstrap_resamples": 4000}, {}], 4000),  # largest
        ([{"bootstrap_resamples": 0}], 0),  # the runs turned the bootstrap off
        ([{"bootstrap_resamples": "many"}, {"bootstrap_resamples": True}], DEFAULT_RESAMPLES),
    ],
)
def test_recorded_resamples(specs: list[dict[str, Any]], expected: int) -> None:
    jobs = [(_manifest(spec), None) for spec in specs]
    assert recorded_resamples(jobs) == expected  # type: ignore[arg-type]


def _set_resamples(run_dir: Path, resamples: int | None) -> None:
    manifest = read_record(run_dir / "manifest.json", RunManifest)
    spec = dict(manifest.spec)
    if resamples is not None:
        spec["bootstrap_resamples"] = resamples
    RunStore(run_dir).write_manifest(manifest.model_copy(update={"spec": spec, "checksum": None}))


@pytest.mark.parametrize("resamples", [None, 37, 2500])
def test_board_passes_the_runs_resamples_to_the_cross_model_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resamples: int | None
) -> None:
    run_dir = write_synthetic_run(tmp_path)
    _set_resamples(run_dir, resamples)
    seen: list[int] = []
    real = cross_model.board_records

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["resamples"])
        return real(*args, **kwargs)

    monkeypatch.setattr(cross_model, "board_records", spy)
    build_boards(tmp_path, ranks=False, suite_boards=installed_suite_boards())
    assert seen and set(seen) == {resamples if resamples is not None else DEFAULT_RESAMPLES}


def test_cross_model_intervals_follow_the_resamples() -> None:
    base = {"corruption=fog/severity=1": _ones(60, 20), "corruption=snow/severity=1": _ones(60, 25)}
    model = {"corruption=fog/severity=1": _ones(60, 8), "corruption=snow/severity=1": _ones(60, 12)}
    few, _ = _board({"b": base, "m": model}, baseline="b", resamples=40)
    many, _ = _board({"b": base, "m": model}, baseline="b", resamples=3000)
    assert _cell(few, "m", "mce").ci != _cell(many, "m", "mce").ci
    off, notes = _board({"b": base, "m": model}, baseline="b", resamples=0)
    mce = _cell(off, "m", "mce")
    assert mce.value == _cell(many, "m", "mce").value and mce.ci is None
    assert any("bootstrap_resamples: 0" in note for note in notes)


def test_relative_mce_without_any_degradation_has_no_zero_width_interval() -> None:
    """A model whose errors under corruption are its clean errors, sample by sample: relative CE
    is 0 in every resample, and the bootstrap said [0, 0]."""
    base = {"clean": _ones(80, 2)}
    base |= {
        "corruption=fog/severity=1": _ones(80, 30),
        "corruption=snow/severity=1": _ones(80, 40),
    }
    steady = {k: _ones(80, 5) for k in base}
    records, _ = _board({"b": base, "m": steady}, baseline="b", resamples=200)
    rel = _cell(records, "m", "relative_mce")
    assert rel.value == 0.0 and rel.ci is None
    assert "no interval" in (rel.note or "") and "no degradation" in (rel.note or "")
    own = _cell(records, "b", "relative_mce")  # the baseline itself: 1 by definition
    assert own.value == 1.0 and own.ci is None and "1 by definition" in (own.note or "")
