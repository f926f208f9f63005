"""A suite added from outside, with no edit in the harness: defined here as a third-party package
would ship it (a suite class, a torch-free board, entry points), it runs on a tiny task and its
metric appears on the leaderboard and in the HTML report under the label its board declares, and
in the task's headline board as the column its board declares (ranked, with its chance level)."""

from __future__ import annotations

import csv
import io
import textwrap
from pathlib import Path

import pytest

from harness.analysis.headline import headline_board, read_outcomes
from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.run.suite_boards import installed_suite_boards

BOARD = '''
"""The toy suite's board: torch-free, as the report reads it."""
from harness.core.headline_spec import HeadlineMetric, HeadlineSpec
from harness.core.metric_record import MetricSpec
from harness.core.suite_board import SuiteBoard

TOP2 = MetricSpec(
    name="toy_top2_acc",
    unit="fraction",
    higher_is_better=True,
    headline=True,
    label="top-2 accuracy of the toy suite",
)
HEADLINE = HeadlineSpec(
    metrics=(HeadlineMetric(metric="toy_top2_acc", label="toy headline top-2", chance=True),),
    facet="accuracy",
)
BOARD = SuiteBoard(suite="toy", metrics=(TOP2,), headline=(HEADLINE,))
'''

SUITE = '''
"""The toy suite: top-2 accuracy with its Wilson interval."""
import numpy as np

from harness.core.metric_record import spec_record
from harness.core.sample_table import CLEAN, SampleTable
from harness.core.suite import Suite, SuiteResult
from harness.stats.intervals import WILSON_METHOD, wilson_ci
from harness.suites.accuracy import predict
from harness_toy.board import BOARD, TOP2


class ToySuite(Suite):
    name = "toy"
    version = "1"
    description = "top-2 accuracy, from a plugin"
    metrics = BOARD.metrics

    def run(self, adapter, task, ctx):
        out = predict(adapter, task, ctx)
        top2 = np.argsort(-out["probs"], axis=1)[:, :2]
        correct = (top2 == out["label"][:, None]).any(axis=1)
        table = SampleTable.build(
            {
                "sample_id": out["sample_id"],
                "condition": CLEAN,
                "label": out["label"],
                "prediction": top2[:, 0],
                "correct": correct,
                "confidence": out["probs"].max(axis=1),
            }
        )
        record = spec_record(
            TOP2,
            suite=self.name,
            value=float(correct.mean()),
            n=len(correct),
            ci=wilson_ci(float(correct.sum()), len(correct)),
            ci_method=WILSON_METHOD,
        )
        return SuiteResult(table=table, metrics=[record])


class LinearAdapter:
    """A fixed random linear model on the 8x8 digits."""
    kind = "toy-linear"

    def __init__(self, name, seed, device):
        import torch
        from harness.core.adapter import Capabilities, InputSpec

        self.name = name
        self.device = device
        self.input_spec = InputSpec(shape=(1, 8, 8))
        self.capabilities = Capabilities(gradients=False)
        self._weight = torch.randn(64, 10, generator=torch.Generator().manual_seed(seed))

    @classmethod
    def build(cls, *, name, config, device, base_dir):
        return cls(name, config.seed, device)

    def logits(self, inputs):
        return inputs.reshape(len(inputs), -1).to(self.device) @ self._weight

    def module(self):
        from harness.core.errors import ConfigError

        raise ConfigError(f"model {self.name!r} is black-box")

    def describe(self):
        return {"adapter": self.kind}

    def identity(self):
        return f"toy-linear-{self.name}"


def tiny_digits():
    """The first 60 digits."""
    from harness.data.builtin import digits

    return digits().head(60)
'''

CONFIG = """
from pydantic import BaseModel, ConfigDict


class LinearConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0
"""


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed-looking distribution `harness-toy`: a package and its entry points."""
    package = tmp_path / "plugin" / "harness_toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "board.py").write_text(BOARD)
    suite = SUITE.replace(
        '    kind = "toy-linear"\n', '    kind = "toy-linear"\n    config_model = LinearConfig\n'
    )
    (package / "suite.py").write_text(CONFIG + suite)
    info = tmp_path / "plugin" / "harness_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: harness-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [harness.suites]
            toy = harness_toy.suite:ToySuite

            [harness.suite_boards]
            toy = harness_toy.board:BOARD

            [harness.adapters]
            toy-linear = harness_toy.suite:LinearAdapter

            [harness.tasks]
            tiny-digits = harness_toy.suite:tiny_digits
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    return tmp_path


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_suite_from_outside_reaches_the_board_and_the_report(
    toy_plugin: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = toy_plugin / "toy.yaml"
    spec.write_text(
        "device: cpu\nbootstrap_resamples: 20\ntasks: [tiny-digits]\n"
        "models:\n"
        "  - {name: lin-a, adapter: toy-linear, seed: 1}\n"
        "  - {name: lin-b, adapter: toy-linear, seed: 2}\n"
        "suites: {toy: {}}\n"
    )
    out = toy_plugin / "results"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    capsys.readouterr()

    assert main(["leaderboard", str(out), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["model"] for r in rows} == {"lin-a", "lin-b"}
    assert all(0.0 <= float(r["toy_top2_acc"]) <= 1.0 for r in rows)

    (board,) = build_boards(out, suite_boards=installed_suite_boards())
    head = headline_board(board, read_outcomes(out))
    (column,) = [c for c in head.columns if c.suite == "toy"]
    assert (column.id, column.label, column.higher_is_better) == (
        "toy_top2_acc",
        "toy headline top-2",
        True,
    )
    assert column.chance is not None and 0.0 < column.chance < 1.0  # digits: ~0.1
    (verdict,) = [v for v in head.verdicts if v.column.suite == "toy"]
    assert verdict.ranked == 2 and verdict.best

    site = toy_plugin / "site"
    assert main(["report", str(out), "--out", str(site)]) == 0
    task_page = next(site.glob("task-tiny-digits*.html")).read_text()
    suite_page = next(site.glob("suite-toy*.html")).read_text()
    for page in (task_page, suite_page):
        assert "top-2 accuracy of the toy suite" in page  # the board's label
        assert "lin-a" in page and "lin-b" in page
    assert "toy headline top-2" in task_page  # its headline column
