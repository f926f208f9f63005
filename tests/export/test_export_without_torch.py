"""`harness export` is on the results side: it runs with torch blocked from import, on a results
folder of the quickstart's size (the committed baseline: 50 jobs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.torch_blocked import REPO, run_without_torch

BASELINE = REPO / "results" / "baselines" / "quickstart"


@pytest.mark.slow  # the whole baseline into a new MLflow store, twice (15-35 s)
def test_quickstart_baseline_to_mlflow_without_torch(tmp_path: Path) -> None:
    from mlflow import MlflowClient  # here: every test is slow, the default run collects them

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = run_without_torch("export", str(BASELINE), "--to", "mlflow", "--tracking-uri", uri)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "42 job run(s) logged, 0 already there" in done.stdout
    again = run_without_torch("export", str(BASELINE), "--to", "mlflow", "--tracking-uri", uri)
    assert again.returncode == 0 and "0 job run(s) logged, 42 already there" in again.stdout
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("harness")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    assert len(runs) == 43 and {r.info.status for r in runs} == {"FINISHED"}  # 42 jobs + the run


@pytest.mark.slow  # a child process (a few seconds)
def test_quickstart_baseline_to_model_index_without_torch(tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    done = run_without_torch(
        "export", str(BASELINE), "--to", "model-index", "--out", str(tmp_path / "cards")
    )
    assert done.returncode == 0, done.stderr[-2000:]
    card = ModelCard.load(tmp_path / "cards" / "digits-cnn" / "README.md")
    assert card.data.eval_results is not None
    top1 = [e for e in card.data.eval_results if e.metric_type == "top1_acc"]
    assert len(top1) == 1 and top1[0].dataset_name == "digits"
