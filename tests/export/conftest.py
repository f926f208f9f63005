"""A tiny stored run (two models x five suites, tests/present/synthetic.py) and an empty MLflow
SQLite store created once per session (creating its tables takes seconds): each test copies it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.present.synthetic import HOSTILE, write_synthetic_run

MODELS = {"good-model": 0.9, HOSTILE: 0.6}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    write_synthetic_run(tmp_path / "res", models=dict(MODELS), flag_model="good-model")
    return tmp_path / "res"


@pytest.fixture(scope="session")
def mlflow_empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-empty") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking_uri(mlflow_empty_store: Path, tmp_path: Path) -> str:
    """A SQLite tracking store of this test's own (its artifacts go to tmp_path/mlruns)."""
    path = tmp_path / "store" / "mlflow.db"
    path.parent.mkdir()
    shutil.copyfile(mlflow_empty_store, path)
    return f"sqlite:///{path}"
