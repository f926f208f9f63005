"""Leaderboards never hide what went wrong: failed jobs show their reason, flags show in every
format, and flagged or upper-bound numbers never rank above trustworthy ones (issue 15)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.core.manifest import JobEntry, JobStatus
from harness.core.metric_record import MetricRecord
from harness.present.leaderboard_view import render_csv, render_markdown, render_table
from harness.run.suite_boards import installed_suite_boards
from harness.store.run_store import RunStore
from tests.present.synthetic import write_synthetic_run
from tests.store.records import job_entry, job_record, run_manifest

REASON = "ModelOutputError: model 'm2' returned NaN logits under attack"


def _with_failure(run: Path, model: str, suite: str, *, drop_completed: bool) -> Path:
    """Mark (model, digits, suite) failed in the manifest (its completed entry removed)."""
    store = RunStore(run)
    manifest = store.read_manifest()
    assert manifest is not None
    jobs = [
        j for j in manifest.jobs if not (drop_completed and j.model == model and j.suite == suite)
    ]
    failed = JobEntry(
        model=model, task="digits", suite=suite, status=JobStatus.FAILED, seconds=1.0,
        message=REASON + "\nTraceback (most recent call last): ...", key=None, dir=None,
    )  # fmt: skip
    store.write_manifest(manifest.replace(jobs=(*jobs, failed)))
    return run


@pytest.fixture
def failed_run(tmp_path: Path) -> Path:
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8})
    for path in (run / "jobs").iterdir():  # m2's adversarial job never got stored
        if "m2" in path.name and "adversarial" in path.name:
            import shutil

            shutil.rmtree(path)
    return _with_failure(run, "m2", "adversarial", drop_completed=True)


def test_failed_job_reason_in_every_format(
    failed_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = build_boards(failed_run, suite_boards=installed_suite_boards())
    key = "robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"
    row = next(r for r in boards[0].rows if r.model == "m2")
    assert row.failed == {"adversarial": REASON}  # first line only
    assert f"FAILED: {REASON}" in render_table(boards)
    assert "FAILED: ModelOutputError" in render_markdown(boards)
    lines = list(csv.DictReader(io.StringIO(render_csv(boards))))
    m2 = next(r for r in lines if r["model"] == "m2")
    assert m2[f"{key}_failed"] == REASON and m2[key] == ""
    assert main(["leaderboard", str(failed_run), "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["m2"][key] is None and rows["m2"][f"{key}_failed"] == REASON
    assert f"{key}_failed" not in rows["m1"]


def test_a_long_failure_reason_keeps_its_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub task's failure line runs to 370 characters and ends with what to do ("connect
    once ... or set HF_DATASETS_CACHE ..."); the board kept 160 of them. It keeps the line
    whole: JSON and CSV carry it, the table's cell shows its start and the board's notes all."""
    import tests.analysis.test_leaderboard_reliability as here

    long = "DatasetError: " + "x" * 300 + " (connect once with the hub reachable)"
    monkeypatch.setattr(here, "REASON", long)
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8})
    _with_failure(run, "m2", "accuracy", drop_completed=True)
    board = build_boards(run, suite_boards=installed_suite_boards())[0]
    m2 = next(r for r in board.rows if r.model == "m2")
    assert m2.failure("top1_acc", board.column_suites) == long
    assert f"m2: suite accuracy failed: {long}" in board.notes
    table = render_table([board])
    assert f"FAILED: {long}" not in table  # the cell: its first 160 characters
    assert "FAILED: DatasetError: xxx" in table and f"note: m2: suite accuracy failed: {long}" in (
        " ".join(table.split())
    )


def test_model_whose_only_job_failed_still_gets_a_row(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9})
    _with_failure(run, "broken", "accuracy", drop_completed=False)
    board = build_boards(run, suite_boards=installed_suite_boards())[0]
    broken = next(r for r in board.rows if r.model == "broken")
    assert broken.failure("top1_acc", board.column_suites) == REASON
    assert broken.rank is None and broken.position == len(board.rows)  # missing: last


def test_flags_have_their_own_csv_column(tmp_path: Path) -> None:
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8}, flag_model="m1")
    lines = list(
        csv.DictReader(
            io.StringIO(render_csv(build_boards(run, suite_boards=installed_suite_boards())))
        )
    )
    key = "robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"
    by_model = {r["model"]: r for r in lines}
    assert by_model["m1"][f"{key}_flags"] == "gradient_masking_suspected"
    assert by_model["m2"][f"{key}_flags"] == ""


def _robust_run(out: Path, values: dict[str, tuple[float, tuple[str, ...], str | None]]) -> Path:
    """A run with one adversarial job per model: robust_acc with flags and notes."""
    store = RunStore.open_for_writing(out, "adv-1")
    entries = []
    for model, (value, flags, note) in values.items():
        rec = job_record(model, "adversarial", run_id="adv-1")
        metric = MetricRecord(
            suite="adversarial", metric="robust_acc", value=value, unit="fraction",
            higher_is_better=True, n=200, ci=(value - 0.05, value + 0.05),
            condition="attack=ensemble/norm=linf/eps=0.1", headline=True, flags=flags, note=note,
            context={"norm": "linf", "eps": "0.1"},
        )  # fmt: skip
        path = store.write_job(record=rec, table=None, metrics=[metric], artifacts={})
        entries.append(job_entry(rec, path.name))
    store.write_manifest(run_manifest("adv-1", entries))
    return store.run_dir


def test_flagged_and_upper_bound_robust_accuracy_rank_below_white_box(tmp_path: Path) -> None:
    bound = "decision-based attack (the model exposes no gradients): an upper bound"
    run = _robust_run(
        tmp_path / "res",
        {
            "masked": (0.95, ("gradient_masking_suspected",), None),
            "blackbox": (0.90, (), bound),
            "honest": (0.40, (), None),
        },
    )
    board = build_boards(run, suite_boards=installed_suite_boards())[0]
    order = [r.model for r in board.rows]
    ranks = {r.model: r.rank for r in board.rows}
    assert order[0] == "honest" and ranks["honest"] == 1
    assert ranks["masked"] is not None and ranks["masked"] > 1
    assert ranks["blackbox"] is not None and ranks["blackbox"] > 1
    assert "UNRELIABLE(gradient_masking_suspected)" in render_table([board])
    assert "upper bounds are ranked after" in board.rank_method


def test_upper_bound_is_said_on_the_number_in_table_and_markdown(tmp_path: Path) -> None:
    # 0.90 from a decision-based attack sits in the column beside white-box numbers: the cell
    # says it is an upper bound, as a flagged cell says UNRELIABLE, not only a footnote mark
    bound = "decision-based attack (the model exposes no gradients): an upper bound"
    run = _robust_run(tmp_path / "res", {"blackbox": (0.90, (), bound), "honest": (0.40, (), None)})
    board = build_boards(run, suite_boards=installed_suite_boards())[0]
    for text in (render_table([board], width=400), render_markdown([board])):
        line = next(x for x in text.splitlines() if "blackbox" in x and "0.900" in x)
        assert "UPPER BOUND" in line
        honest = next(x for x in text.splitlines() if "honest" in x and "0.400" in x)
        assert "UPPER BOUND" not in honest


def test_a_metric_two_suites_report_keeps_both_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The adversarial suite's clean_acc (on its attacked subset) and the shift suite's (on its
    own subset) are different numbers with one key: `--all-metrics` showed only the last job's,
    under a column a reader takes for the attacked subset's (quickstart: mnist-cnn-adv 0.973
    n=300 shown, the attacked subset's 0.995 n=200 gone)."""
    from tests.present.synthetic import _rec

    more = {
        ("m1", "adversarial"): [_rec("adversarial", "clean_acc", 0.995, headline=False)],
        ("m1", "shift"): [_rec("shift", "clean_acc", 0.973, n=300, headline=False)],
    }
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8}, more=more)
    assert main(["leaderboard", str(run), "--all-metrics", "--format", "json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["model"] == "m1")
    assert "clean_acc" not in row
    assert (row["clean_acc[suite=adversarial]"], row["clean_acc[suite=adversarial]_n"]) == (
        0.995,
        200,
    )
    assert (row["clean_acc[suite=shift]"], row["clean_acc[suite=shift]_n"]) == (0.973, 300)
    boards = build_boards(run, all_metrics=True, suite_boards=installed_suite_boards())
    assert boards[0].column_suites["clean_acc[suite=shift]"] == "shift"
    lines = list(csv.DictReader(io.StringIO(render_csv(boards))))
    m1 = next(r for r in lines if r["model"] == "m1")
    assert m1["clean_acc[suite=adversarial]"] == "0.995" and m1["clean_acc[suite=shift]"] == "0.973"
    text = render_markdown(boards)
    assert "clean_acc\\[suite=adversarial\\]" in text and "clean_acc\\[suite=shift\\]" in text
    assert "0.995 \\[" in text and "0.973 \\[" in text


def test_the_leaderboard_writes_edges_of_fractions_and_intervals_as_the_report(
    tmp_path: Path,
) -> None:
    """The leaderboard wrote an OOD AUROC of 0.99998 as "1.000" and an FPR@95 interval that
    excludes 0, [0.00047, 0.023], as "[0.000, 0.023]" (quickstart digits-cnn); the report wrote
    "[0.00047, 0.023]". Both now follow harness.present.number_format."""
    from tests.present.synthetic import _rec

    more = {
        ("m1", "accuracy"): [
            _rec("accuracy", "auroc_like", 0.9999777777777777, ci=(0.9935, 0.99999992)),
            _rec("accuracy", "fpr_like", 0.0033333, hib=False, ci=(0.00047201, 0.0231384)),
            _rec("accuracy", "tflops_like", 4.86e-05, unit="TFLOP/s", ci=(4e-05, 5e-05)),
        ]
    }
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8}, more=more)
    text = render_table(build_boards(run, suite_boards=installed_suite_boards()))
    assert "0.99998 [0.994, 1.000]" in text and "0.003 [0.00047, 0.023]" in text
    assert "1.000 [0.994" not in text and "[0.000, 0.023]" not in text
    assert "4.9e-05 [4e-05, 5e-05]" in text


def test_every_text_form_says_which_way_is_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The terminal table said "ece (fraction, lower is better)"; the Markdown and the JSON
    said nothing, so a reader (or a script sorting a column) took every column as higher-better."""
    run = write_synthetic_run(tmp_path / "res", models={"m1": 0.9, "m2": 0.8})
    boards = build_boards(run, suite_boards=installed_suite_boards())
    assert "ece (fraction, lower is better)" in render_table(boards)
    assert "ece (fraction, lower is better)" in render_markdown(boards)
    assert main(["leaderboard", str(run), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["units"]["ece"] == {"unit": "fraction", "higher_is_better": False}
    assert row["units"]["top1_acc"] == {"unit": "fraction", "higher_is_better": True}
