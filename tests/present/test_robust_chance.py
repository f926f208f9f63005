"""The robust-accuracy-vs-budget figure draws chance: the share of the most common class among
the attacked samples, what always predicting that class scores and no attack can lower. Without
it, a panel where every model sits at or below chance (diabetes at L-inf 0.1: 0.271 and 0.164
against 0.514) read as a robustness ranking."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.figure_data import FigPoint
from harness.core.metric_record import MetricRecord
from harness.core.sample_table import SampleTable
from harness.present import figures
from harness.present.figure_style import Styles
from harness.present.report_figures import _chance, _TaskData


@dataclass
class _Job:
    labels: list[int]
    metrics: list[MetricRecord]
    has_table: bool = True

    def table(self) -> SampleTable:
        n = len(self.labels)
        return SampleTable(
            pd.DataFrame(
                {
                    "sample_id": [str(i) for i in range(n)],
                    "condition": "clean",
                    "label": np.array(self.labels, dtype=np.int64),
                    "prediction": np.zeros(n, dtype=np.int64),
                    "correct": np.zeros(n, dtype=bool),
                    "confidence": np.ones(n),
                }
            )
        )


def _robust() -> list[MetricRecord]:
    return [
        MetricRecord(
            suite="adversarial",
            metric="robust_acc",
            value=0.3,
            n=4,
            unit="fraction",
            higher_is_better=True,
        )
    ]


def test_chance_is_the_majority_share_when_every_job_agrees() -> None:
    data = _TaskData()
    data.jobs = [("a", _Job([0, 0, 0, 1], _robust())), ("b", _Job([0, 0, 0, 1], _robust()))]
    assert _chance(data, "robust_acc") == 0.75


def test_no_chance_line_for_jobs_on_other_samples_or_without_the_metric() -> None:
    data = _TaskData()
    data.jobs = [("a", _Job([0, 0, 0, 1], _robust())), ("b", _Job([0, 1, 1, 2], _robust()))]
    assert _chance(data, "robust_acc") is None  # different samples: no one chance level
    data.jobs = [("a", _Job([0, 0, 0, 1], []))]
    assert _chance(data, "robust_acc") is None


def test_the_figure_draws_the_reference_line(tmp_path: Path, monkeypatch) -> None:
    drawn: list[float] = []
    import matplotlib.axes

    original = matplotlib.axes.Axes.axhline

    def spy(self, y=0, *args, **kwargs):  # type: ignore[no-untyped-def]
        drawn.append(y)
        return original(self, y, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "axhline", spy)
    panels = {"linf": {"m": [FigPoint(0.1, 0.3, (0.2, 0.4), "", 4)]}}
    path = figures.lines(
        panels,
        tmp_path / "robust.png",
        title="t",
        xlabel="eps",
        ylabel="robust accuracy",
        styles=Styles(["m"]),
        unit_interval=True,
        reference=(0.514, "chance (0.514)"),
    )
    assert path is not None and path.exists()
    assert drawn == [0.514]
