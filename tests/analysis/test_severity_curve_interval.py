"""The severity curve's points and intervals (`figure_data.severity_curve`) are the shift suite's
mean corruption accuracy restricted to one severity (`intervals.cell_mean`): the mean over the
corruptions of each cell's accuracy, with Wilson's interval at Kish's effective n over source
images, which does not collapse to [1, 1] when every image is right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.analysis import figure_data as fd
from harness.core.sample_table import SampleTable
from harness.stats.intervals import cell_mean
from tests.present.synthetic import CORRUPTIONS, _table

N = 200


def _cells(table: SampleTable, severity: int) -> list[pd.DataFrame]:
    frame = table.frame
    return [frame[frame["condition"] == f"corruption={c}/severity={severity}"] for c in CORRUPTIONS]


def test_all_right_severity_has_an_interval_below_one() -> None:
    """Every image right under every corruption at severity 1: the point is 1 and the interval
    [lower < 1, 1] (the percentile bootstrap said [1, 1]); the points are the mean over the
    corruptions of each cell's accuracy, with `cell_mean`'s interval."""
    rng = np.random.default_rng(0)
    p = {f"corruption={c}/severity={s}": 1.0 if s == 1 else 0.9 - 0.1 * s for c in CORRUPTIONS for s in (1, 2, 3)}  # fmt: skip
    table = _table(rng, {"clean": 1.0, **p}, n=N)
    curve = fd.severity_curve(table)
    assert [q.x for q in curve] == [1.0, 2.0, 3.0]
    first = curve[0]
    assert first.y == 1.0 and first.ci is not None
    assert first.ci[0] < 1.0 and first.ci[1] == 1.0 and first.n == N
    for q in curve:
        cells = _cells(table, int(q.x))
        assert q.y == pytest.approx(np.mean([c["correct"].mean() for c in cells]))
        direct = cell_mean([c["correct"].to_numpy() for c in cells])  # same images, same order
        assert q.ci == pytest.approx(direct.ci) and q.n == direct.clusters
        assert q.ci is not None and q.ci[0] <= q.y <= q.ci[1]


def test_cells_of_unequal_size_pair_by_source_image() -> None:
    """A published set's cells hold their source image in `sample_id` and may differ in size:
    the point is still the mean of the cells' accuracies (not of per-image means), and the
    interval is `cell_mean`'s with those ids."""
    rng = np.random.default_rng(1)
    p = {f"corruption={c}/severity=1": 0.8 for c in CORRUPTIONS}
    full = _table(rng, p, n=N).frame
    first = f"corruption={CORRUPTIONS[0]}/severity=1"
    drop = full[(full["condition"] == first) & (full["sample_id"] >= "s0150")].index
    table = SampleTable(full.drop(index=drop).reset_index(drop=True))
    (point,) = fd.severity_curve(table)
    cells = _cells(table, 1)
    assert len(cells[0]) == 150 and len(cells[1]) == N
    assert point.y == pytest.approx(np.mean([c["correct"].mean() for c in cells]))
    direct = cell_mean([c["correct"].to_numpy() for c in cells], [c["sample_id"] for c in cells])
    assert point.ci == pytest.approx(direct.ci) and point.n == N


def test_cells_without_shared_ids_pair_by_position_as_the_suite_does() -> None:
    """A published set without source ids: every row has its own id, so no id recurs across
    cells. Counting each row as its own image would narrow the interval as if the cells were
    independent; the curve pairs rows by position (equal cells), as the suite does, and gives no
    interval to cells of unequal size."""
    rng = np.random.default_rng(2)
    p = {f"corruption={c}/severity=1": 0.8 for c in CORRUPTIONS}
    frame = _table(rng, p, n=N).frame
    frame = frame.assign(sample_id=frame["condition"].astype(str) + "/" + frame["sample_id"])
    (point,) = fd.severity_curve(SampleTable(frame))
    cells = _cells(SampleTable(frame), 1)
    direct = cell_mean([c["correct"].to_numpy() for c in cells])  # by position
    assert point.ci == pytest.approx(direct.ci) and point.n == N
    first = f"corruption={CORRUPTIONS[0]}/severity=1"
    short = frame.drop(index=frame[frame["condition"] == first].index[:10])
    (uneven,) = fd.severity_curve(SampleTable(short.reset_index(drop=True)))
    assert uneven.ci is None
    assert uneven.y == pytest.approx(
        np.mean([c["correct"].mean() for c in _cells(SampleTable(short), 1)])
    )
