"""Leaderboards, headline rankings, group tables and gate reports stay what they were, bit for
bit, on fixed results folders (tests/analysis/pinned_outputs.py says what each pin holds and how
to rewrite one when a change moves a number on purpose)."""

from __future__ import annotations

import pytest

from tests.analysis.pinned_outputs import CASES, PINS, QUICKSTART_CASES, SCALE_CASES


def _same(name: str) -> None:
    got = CASES[name].compute()
    want = (PINS / name).read_text()
    assert got == want, f"{name} moved: python -m tests.analysis.pinned_outputs --write {name}"


@pytest.mark.parametrize("name", [c.name for c in SCALE_CASES])
def test_scale12_outputs_are_pinned(name: str) -> None:
    _same(name)


@pytest.mark.slow  # the committed quickstart baseline: about 50 s in all
@pytest.mark.parametrize("name", [c.name for c in QUICKSTART_CASES])
def test_quickstart_baseline_outputs_are_pinned(name: str) -> None:
    _same(name)


def test_a_run_checked_against_itself_resamples_each_form_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Equal tables and records give the baseline the current's form: the same report as two
    separately built forms, and the reuse happens (every job of scale12 is equal to itself)."""
    from harness.analysis import check
    from harness.core.metric_record import MetricRecord
    from tests.analysis.pinned_outputs import SCALE_BASE, SCALE_CURRENT, _cli, _run

    args = ("check", "--baseline", str(_run(SCALE_BASE)), "--current", str(_run(SCALE_BASE)))
    same = check._EvidenceSource._same_inputs
    calls: list[bool] = []

    def spy(self: check._EvidenceSource, bm: MetricRecord, cm: MetricRecord) -> bool:
        calls.append(same(self, bm, cm))
        return calls[-1]

    monkeypatch.setattr(check._EvidenceSource, "_same_inputs", spy)
    reused = _cli(*args, "--format", "md")
    assert calls and all(calls)
    calls.clear()  # a retrained current: other tables, nothing reused
    _cli("check", "--baseline", str(_run(SCALE_BASE)), "--current", str(_run(SCALE_CURRENT)))
    assert calls and not any(calls)
    monkeypatch.setattr(check._EvidenceSource, "_same_inputs", lambda self, bm, cm: False)
    assert _cli(*args, "--format", "md") == reused


def test_a_run_checked_against_itself_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same folder as baseline and current: its manifest and jobs are read once, and each
    per-sample table once (also for a current run whose table has the baseline's checksum)."""
    from harness.analysis import check, gate_runs
    from tests.analysis.pinned_outputs import SCALE_BASE, _cli, _run

    loads: list[str] = []
    tables: list[tuple[str, str, str]] = []
    load, table = gate_runs.load_run, gate_runs.LoadedRun.table

    def counting_load(root: object, what: str) -> gate_runs.LoadedRun:
        loads.append(what)
        return load(root, what)  # type: ignore[arg-type]

    def counting_table(self: gate_runs.LoadedRun, key: tuple[str, str, str]) -> object:
        tables.append(key)
        return table(self, key)

    monkeypatch.setattr(check, "load_run", counting_load)
    monkeypatch.setattr(gate_runs.LoadedRun, "table", counting_table)
    run = str(_run(SCALE_BASE))
    _cli("check", "--baseline", run, "--current", run)
    assert loads == ["baseline"]
    assert len(tables) == len(set(tables)) == 12
