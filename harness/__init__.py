"""Robustness harness: evaluate classifiers for accuracy, calibration, shift, attacks, fairness, speed.

Python API: `harness.evaluate(model_or_adapter, task=..., suites=[...])`; CLI: `harness --help`.
Importing `harness` stays light (no torch): leaderboards and reports run on any CPU box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version lives (pyproject.toml reads it)
__all__ = ["__version__", "evaluate"]

if TYPE_CHECKING:
    from harness.run.api import EvaluationResult


def evaluate(
    model: Any, *, task: Any, suites: Any = ("accuracy",), **options: Any
) -> EvaluationResult:
    """Evaluate a model (nn.Module, adapter or zoo name) on a task; see `harness.run.api.evaluate`."""
    from harness.run.api import evaluate as _evaluate

    return _evaluate(model, task=task, suites=suites, **options)
