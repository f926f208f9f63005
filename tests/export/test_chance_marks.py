"""The exports carry the leaderboard's chance marks: an accuracy number's chance level and
whether it is at or below it (`<key>_chance`, `<key>_at_or_below_chance`), and the caveat on a
calibration number of a model whose clean accuracy is at chance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import ModelCard

import harness
from harness.analysis.headline import chance_fields
from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.core.threat_model import ThreatModel
from harness.export.exported_jobs import exported_jobs, metric_names
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run


def _results(root: Path, model: str, acc: float) -> Path:
    write_synthetic_run(
        root,
        models={model: acc},
        confidence={"guess": 0.1},
        headline=(ThreatModel(norm="linf", eps=0.1),),
    )
    return root


@pytest.fixture
def at_chance(tmp_path: Path) -> Path:
    """`guess` scores about chance on clean data with a constant confidence (its ECE near 0);
    its robust accuracy at eps 0.1 is far below chance. One model a folder: the synthetic
    tables draw other labels for each model, which a real run's never do (the board reads one
    model's labels for every model of a board)."""
    return _results(tmp_path / "res", "guess", 0.1)


@pytest.fixture
def above_chance(tmp_path: Path) -> Path:
    """`good`: clean accuracy 0.9, robust accuracy at eps 0.1 still at chance."""
    return _results(tmp_path / "res-good", "good", 0.9)


def _board_fields(root: Path) -> dict[tuple[str, str], Any]:
    """(model, field) -> value of every `_chance` / `_at_or_below_chance` field the
    leaderboard's JSON gives."""
    (board,) = build_boards(root, all_metrics=True, suite_boards=installed_suite_boards())
    return {
        (row.model, name): value
        for row in board.rows
        for name, value in chance_fields(board, row.model).items()
    }


def _exported_fields(root: Path) -> dict[tuple[str, str], Any]:
    exported: dict[tuple[str, str], Any] = {}
    for job in exported_jobs(root, suite_boards=installed_suite_boards()):
        tags, metrics = job.tags(), job.metrics()
        for name, record in metric_names(job.job.metrics).items():
            if f"at_chance.{name}" in tags:
                exported[(job.model, f"{record.key}_chance")] = metrics[f"{name}.chance"]
                exported[(job.model, f"{record.key}_at_or_below_chance")] = (
                    tags[f"at_chance.{name}"] == "true"
                )
    return exported


def _ece_tags(root: Path) -> tuple[str, dict[str, str]]:
    ((name, tags),) = [
        (name, job.tags())
        for job in exported_jobs(root, suite_boards=installed_suite_boards())
        for name, record in metric_names(job.job.metrics).items()
        if record.key == "ece"
    ]
    return name, tags


def test_mlflow_tags_and_metrics_say_what_the_board_says_of_chance(
    at_chance: Path, above_chance: Path
) -> None:
    marks: list[object] = []
    for root in (at_chance, above_chance):
        board = _board_fields(root)
        assert _exported_fields(root) == board
        marks += board.values()
    assert True in marks and False in marks  # both kinds checked
    # the calibration of the model at chance is no merit; the other model's is
    name, tags = _ece_tags(at_chance)
    assert "clean accuracy" in tags[f"no_skill.{name}"] and name in tags["harness.no_skill_metrics"]
    name, tags = _ece_tags(above_chance)
    assert f"no_skill.{name}" not in tags and "harness.no_skill_metrics" not in tags


def test_without_the_suites_boards_no_job_claims_a_chance_level(at_chance: Path) -> None:
    for job in exported_jobs(at_chance):
        assert not any(t.startswith(("at_chance.", "no_skill.")) for t in job.tags())
        assert not any(m.endswith(".chance") for m in job.metrics())


@pytest.mark.parametrize("model", ["guess", "good"])
def test_model_cards_name_a_number_at_chance_and_a_calibration_of_a_model_at_chance(
    model: str, at_chance: Path, above_chance: Path, tmp_path: Path
) -> None:
    root = at_chance if model == "guess" else above_chance
    out = tmp_path / "cards"
    args = ["export", str(root), "--to", "model-index", "--all-metrics", "--out", str(out)]
    assert main(args) == 0
    board = _board_fields(root)
    seen = 0
    card = ModelCard.load(out / model / "README.md")
    for result in card.data.eval_results:
        key = result.metric_type + (f"[{result.metric_config}]" if result.metric_config else "")
        margs = result.metric_args or {}
        if (model, f"{key}_chance") in board:
            seen += 1
            assert margs["chance"] == board[(model, f"{key}_chance")]
            at = board[(model, f"{key}_at_or_below_chance")]
            assert margs["at_or_below_chance"] is at
            assert ("at or below chance" in result.metric_name) is at
        else:
            assert "chance" not in margs
        if key == "ece":  # the hub shows the name: the caveat is there
            assert ("model at chance" in result.metric_name) is (model == "guess")
            assert ("model_at_chance" in margs) is (model == "guess")
    assert seen == len(board) // 2


def test_the_cli_and_python_api_hand_the_suites_boards_to_the_export(
    at_chance: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = harness.export_model_index(at_chance, tmp_path / "cards")
    text = (tmp_path / "cards" / "guess" / "README.md").read_text()
    assert cards and "at_or_below_chance: true" in text and "model at chance" in text
    import harness.export.mlflow_export as mlflow_export

    handed: list[object] = []

    def fake(results: Path, **options: Any) -> mlflow_export.MlflowExport:
        handed.append(options.get("suite_boards"))
        return mlflow_export.MlflowExport(options["tracking_uri"], "harness", "1", 0, 0, 0, None)

    monkeypatch.setattr(mlflow_export, "export_mlflow", fake)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"  # never opened: the export is the fake
    harness.export_mlflow(at_chance, tracking_uri=uri)
    assert main(["export", str(at_chance), "--to", "mlflow", "--tracking-uri", uri]) == 0
    assert handed == [installed_suite_boards()] * 2


def test_runs_an_export_logged_without_marks_get_them_on_the_next(
    at_chance: Path, tracking_uri: str
) -> None:
    """A store an export before chance marks filled keeps its runs (`already there`); they gain
    the marks, once, and nothing else of them changes."""
    from mlflow import MlflowClient

    from harness.export.mlflow_export import export_mlflow

    first = export_mlflow(at_chance, tracking_uri=tracking_uri)  # no boards: no marks
    boards = installed_suite_boards()
    again = export_mlflow(at_chance, tracking_uri=tracking_uri, suite_boards=boards)
    assert (first.logged, again.logged, again.kept) == (5, 0, 5)
    client = MlflowClient(tracking_uri=tracking_uri)
    runs = client.search_runs([again.experiment_id], filter_string="tags.`harness.suite` != ''")
    exported = {job.job_id: job for job in exported_jobs(at_chance, suite_boards=boards)}
    marked = 0
    for run in runs:
        job = exported[run.data.tags["harness.job_id"]]
        assert run.data.tags == {**run.data.tags, **job.tags()}
        assert run.data.metrics == job.metrics()
        marked += any(k.startswith("at_chance.") for k in run.data.tags)
        history = [client.get_metric_history(run.info.run_id, k) for k in run.data.metrics]
        assert all(len(h) == 1 for h in history)
    assert marked >= 2
    third = export_mlflow(at_chance, tracking_uri=tracking_uri, suite_boards=boards)
    assert (third.logged, third.kept) == (0, 5)
    for run in client.search_runs([again.experiment_id]):
        assert all(
            len(client.get_metric_history(run.info.run_id, k)) == 1 for k in run.data.metrics
        )
