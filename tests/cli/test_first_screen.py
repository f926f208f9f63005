"""What a user sees first: the end of `harness run` (the headline per task, skipped jobs once,
where the rest is), the headline on the leaderboard and in `harness check`, and a spec's group
labels reaching the report after an edit (not stuck in a cached job)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.check import load_run, run_check
from harness.analysis.check_headline import headline_checks
from harness.analysis.check_policy import load_policy
from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.core.manifest import JobStatus
from harness.core.threat_model import ThreatModel
from harness.present.leaderboard_view import render_table
from harness.run.suite_boards import installed_suite_boards
from harness.store.run_store import RunStore, load_jobs
from tests.conftest import TINY_SPEC, save_weights
from tests.fixture_models import linear_tabular
from tests.present.synthetic import write_synthetic_run

LINF_01 = ThreatModel(norm="linf", eps=0.1)


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_run_ends_with_the_headline_not_every_board(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(TINY_SPEC.replace("  accuracy: {}", "  accuracy: {}\n  fairness: {}"))
    out_dir = spec.parent / "out"
    report = ["--report", str(spec.parent / "r"), "--width", "0"]
    assert main(["run", str(spec), "--out", str(out_dir), *report]) == 0
    out = capsys.readouterr().out
    assert "digits (n = 120) · headline threat model L-inf 0.1" in out
    assert "clean accuracy:" in out and "values: estimate" not in out  # no full board
    skipped = [line for line in out.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1 and skipped[0].startswith("skipped: fairness on 2 jobs: task 'digits'")
    run_dir = next((out_dir / "runs").iterdir())
    assert f"full boards (every metric): harness leaderboard {run_dir}" in out
    assert f"report: {spec.parent / 'r' / 'index.html'}" in out
    assert (spec.parent / "r" / "summary.md").is_file()


def test_the_leaderboard_and_the_gate_name_the_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6}, headline=(LINF_01,))
    (board,) = build_boards(tmp_path / "res", suite_boards=installed_suite_boards())
    text = render_table([board], width=None)
    assert "headline threat model: L-inf 0.1 (robust accuracy there: " in text
    header = next(line for line in text.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[:5] == ["#", "model", "rank", "on", "top1_acc"]
    assert header.index("robust_acc") < header.index("ece")  # second, after the first column
    capsys.readouterr()
    assert main(["check", "--baseline", str(run), "--current", str(run), "--width", "100"]) == 0
    terminal = capsys.readouterr().out
    assert "headline of digits: robust accuracy at L-inf 0.1, its headline threat model" in terminal
    assert main(["check", "--baseline", str(run), "--current", str(run), "--format", "md"]) == 0
    md = capsys.readouterr().out
    first = md.split("\n\n")[1]  # right under the verdict heading
    assert first.startswith("**headline of digits: robust accuracy at L-inf 0.1")


def test_the_gate_headline_follows_the_boards_declarations(tmp_path: Path) -> None:
    """The gate's headline rows come from the lead headline columns the boards declare: without
    the adversarial board there is no robust row, with it the worst-case key and clean rows."""
    run = write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6}, headline=(LINF_01,))
    report = run_check(run, run, load_policy(None), configs={})
    current = report.current_run or load_run(run, "current")
    boards = installed_suite_boards()
    (head,) = headline_checks(report, current, boards)
    assert head.threat == LINF_01 and head.key.startswith("robust_acc")
    assert head.robust and {r.metric for r in head.clean} == {"top1_acc"}
    without = [b for b in boards if b.suite != "adversarial"]
    assert headline_checks(report, current, without) == []


def _fail_job(run: Path, model: str, suite: str, copy_to: Path) -> Path:
    """A copy of `run` whose `model` x `suite` job failed (as a run that crashed there)."""
    shutil.copytree(run, copy_to)
    store = RunStore(copy_to)
    manifest = store.read_manifest()
    assert manifest is not None
    jobs = tuple(
        e.replace(status=JobStatus.FAILED, message="RuntimeError: boom")
        if e.names[0] == model and e.names[2] == suite
        else e
        for e in manifest.jobs
    )
    store.write_manifest(manifest.replace(jobs=jobs))
    return copy_to


def test_the_gate_headline_says_why_a_model_has_no_robust_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model whose adversarial job failed in one run has no robust-accuracy row to show: the
    headline says why in its place (it printed an empty table when the only model's job had
    failed in the baseline, and dropped the model without a word)."""
    models = {"a": 0.9, "b": 0.6}
    run = write_synthetic_run(tmp_path / "res", models=models, headline=(LINF_01,))
    failed = _fail_job(run, "a", "adversarial", tmp_path / "failed")
    assert main(["check", "--baseline", str(failed), "--current", str(run), "--width", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = lines[lines.index(next(x for x in lines if x.startswith("headline of digits"))) :]
    rows = [[c.strip() for c in line.split("  ") if c.strip()][:3] for line in head[2:6]]
    assert rows == [
        ["PASS", "a", "robust accuracy at L-inf 0.1: job failed in the baseline; not compared"],
        ["PASS", "a", "clean accuracy"],
        ["PASS", "b", "robust accuracy at L-inf 0.1"],
        ["PASS", "b", "clean accuracy"],
    ]
    assert head[6] == ""
    assert main(["check", "--baseline", str(run), "--current", str(failed), "--format", "md"]) == 1
    md = capsys.readouterr().out
    assert "| FAIL | a | robust accuracy at L-inf 0.1: job failed in the current run: " in md
    assert md.index("| FAIL | a | robust accuracy") < md.index("| PASS | a | clean accuracy")


def test_the_gate_headline_stays_when_every_robust_job_failed_now(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When every model's adversarial job failed in the current run, the current run holds no
    robust record to name the headline's key: the baseline's names it, and the headline shows
    each model's failure (it was left out, so a reviewer read only the clean rows)."""
    run = write_synthetic_run(tmp_path / "res", models={"a": 0.9}, headline=(LINF_01,))
    failed = _fail_job(run, "a", "adversarial", tmp_path / "failed")
    assert main(["check", "--baseline", str(run), "--current", str(failed), "--format", "md"]) == 1
    md = capsys.readouterr().out
    assert "**headline of digits: robust accuracy at L-inf 0.1" in md
    assert "| FAIL | a | robust accuracy at L-inf 0.1: job failed in the current run: " in md


def test_edited_group_labels_reach_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gen = np.random.default_rng(0)
    pd.DataFrame(
        {
            "f1": gen.random(60).astype(np.float32),
            "label": gen.integers(0, 2, 60),
            "region": gen.choice(["n", "s"], 60),
        }
    ).to_parquet(tmp_path / "t.parquet")
    save_weights(linear_tabular(features=1), tmp_path / "tab1.safetensors")
    spec = tmp_path / "spec.yaml"
    template = (
        "name: labels\nbootstrap_resamples: 0\n"
        "tasks:\n  - {{name: t, source: t.parquet, split: train, modality: tabular,\n"
        "     feature_columns: [f1], group_columns: [region],\n"
        "     group_labels: {{region: {{s: {s}, n: {n}}}}}}}\n"
        "models:\n  - {{name: lin, factory: 'tests.fixture_models:linear_tabular',"
        " factory_args: {{features: 1}}, weights: tab1.safetensors, input_shape: [1]}}\n"
        "suites: {{accuracy: {{}}}}\n"
    )
    out = tmp_path / "out"

    def labels_after(s: str, n: str) -> dict[str, str]:
        spec.write_text(template.format(s=s, n=n))
        assert main(["run", str(spec), "--out", str(out)]) == 0
        jobs = sorted(load_jobs(out), key=lambda mj: mj[1].record.finished or "")
        return jobs[-1][1].record.task_summary.group_labels["region"]

    assert labels_after("South", "North") == {"s": "South", "n": "North"}
    assert labels_after("south", "north") == {"s": "south", "n": "north"}
    capsys.readouterr()
    assert main(["groups", str(out), "--by", "region"]) == 0
    shown = capsys.readouterr().out
    assert "s (south)" in shown and "n (north)" in shown
