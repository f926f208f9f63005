"""Robustness harness: evaluate classifiers for accuracy, calibration, shift, attacks, fairness, speed.

Python API: `harness.evaluate(model, task=..., suites=[...])`, or `data=` for data in memory
(docs/python-api.md); CLI: `harness --help`.
Importing `harness` stays light (no torch): leaderboards and reports run on any CPU box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.core.errors import HarnessError
from harness.core.version import __version__

__all__ = [
    "HarnessError",
    "__version__",
    "callable_model",
    "check",
    "evaluate",
    "export_mlflow",
    "export_model_index",
    "groups",
    "leaderboard",
    "report",
    "run_spec",
    "variants",
]

if TYPE_CHECKING:
    import pandas as pd

    from harness.adapters.python_callable import CallableModel
    from harness.analysis.variant_deltas import VariantComparison
    from harness.export.mlflow_export import MlflowExport
    from harness.export.model_index import ModelCardFile
    from harness.present.api_report import ReportSite
    from harness.run.api import EvaluationResult
    from harness.run.api_gate import GateResult
    from harness.run.runner import RunOutcome


def _libraries_ahead() -> None:
    """The libraries the harness imports, ahead of a same-named file in the caller's folder
    (a notebook's `datasets.py`): `harness.core.user_code.libraries_ahead`."""
    from harness.core.user_code import libraries_ahead

    libraries_ahead()


def evaluate(
    model: Any, *, task: Any = None, data: Any = None, suites: Any = ("accuracy",), **options: Any
) -> EvaluationResult:
    """Evaluate a model (nn.Module, fitted scikit-learn classifier, function, adapter or zoo name) on a task or on data in memory; see
    `harness.run.api.evaluate` (torch is imported on the first call, not with `harness`)."""
    _libraries_ahead()
    from harness.run.api import evaluate as _evaluate

    return _evaluate(model, task=task, data=data, suites=suites, **options)


def callable_model(
    fn: Any, *, outputs: str, input_format: str = "numpy", name: str | None = None
) -> CallableModel:
    """A function (or callable object) for `harness.evaluate`, saying what a bare one cannot:
    `outputs` 'logits', 'probabilities' or 'binary_logit' (one logit per input, that of the
    second class: read as the pair (0, z)), `input_format` 'numpy' (a float32 array; lists of
    strings for text) or 'torch' (a CPU tensor), `name` (default: the function's). Scored by
    the `callable` adapter, as a spec's `adapter: callable` is (docs/python-api.md)."""
    _libraries_ahead()
    from harness.adapters.python_callable import CallableModel

    if not callable(fn):
        raise HarnessError(f"callable_model: fn is a {type(fn).__name__}, not a callable")
    if outputs not in ("logits", "probabilities", "binary_logit"):
        raise HarnessError(
            f"callable_model: outputs {outputs!r}; use 'logits', 'probabilities' or 'binary_logit'"
        )
    if input_format not in ("numpy", "torch"):
        raise HarnessError(f"callable_model: input_format {input_format!r}; use 'numpy' or 'torch'")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise HarnessError("callable_model: name must be a non-empty string")
    return CallableModel(fn, outputs, input_format, name)  # type: ignore[arg-type]


def run_spec(spec: Any, *, out: Any = "results", **options: Any) -> RunOutcome:
    """`harness run` from Python: a spec file, mapping or `RunSpec` into the results folder `out`;
    see `harness.run.api_verbs.run`."""
    _libraries_ahead()
    from harness.run.api_verbs import run

    return run(spec, out=out, **options)


def groups(results: Any, **options: Any) -> pd.DataFrame:
    """`harness groups` from Python: per-group metrics of a condition in a results folder's
    stored tables as one DataFrame (notes in `.attrs["notes"]`); see
    `harness.run.api_groups.groups` (reads results only: no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.run.api_groups import groups as _groups

    return _groups(path_argument("results", results), **options)


def leaderboard(results: Any, **options: Any) -> pd.DataFrame:
    """`harness leaderboard` from Python: the boards of a results folder as one DataFrame; see
    `harness.run.api_boards.leaderboard` (reads results only: no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.run.api_boards import leaderboard as _leaderboard

    return _leaderboard(path_argument("results", results), **options)


def export_mlflow(results: Any, **options: Any) -> MlflowExport:
    """`harness export --to mlflow` from Python: each run and job of a results folder as MLflow
    runs; see `harness.export.mlflow_export.export_mlflow` (docs/export.md; no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.export.mlflow_export import export_mlflow as _export
    from harness.run.suite_boards import installed_suite_boards

    options.setdefault("suite_boards", installed_suite_boards())  # numbers' chance levels
    options.setdefault("partial_option", "allow_partial=True")  # the refusal's way out
    return _export(path_argument("results", results), **options)


def export_model_index(results: Any, out: Any, **options: Any) -> list[ModelCardFile]:
    """`harness export --to model-index` from Python: a model card per model under `out`; see
    `harness.export.model_index.export_model_index` (docs/export.md; no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.export.model_index import export_model_index as _export
    from harness.run.suite_boards import installed_suite_boards

    options.setdefault("suite_boards", installed_suite_boards())  # numbers' chance levels
    options.setdefault("partial_option", "allow_partial=True")  # the refusal's way out
    return _export(path_argument("results", results), path_argument("out", out), **options)


def check(baseline: Any, current: Any, *, policy: Any = None) -> GateResult:
    """`harness check` from Python: the gate's verdict (`passed`, `exit_code`, `frame()`);
    see `harness.run.api_gate.check` (reads results only: no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.run.api_gate import check as _check

    return _check(
        path_argument("baseline", baseline),
        path_argument("current", current),
        policy=path_argument("policy", policy) if policy is not None else None,
    )


def report(results: Any, out: Any, **options: Any) -> ReportSite:
    """`harness report` from Python: write the HTML site and summary into `out`; returns their
    paths; see `harness.present.api_report.report` (reads results only: no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.present.api_report import report as _report
    from harness.run.suite_boards import installed_suite_boards

    return _report(
        path_argument("results", results),
        path_argument("out", out),
        suite_boards=installed_suite_boards(),
        **options,
    )


def variants(results: Any, **options: Any) -> list[VariantComparison]:
    """`harness variants` from Python: each compressed variant against its parent, paired, as
    typed records; see `harness.run.api_variants.variants` (reads results only: no torch)."""
    _libraries_ahead()
    from harness.core.arguments import path_argument
    from harness.run.api_variants import variants as _variants

    return _variants(path_argument("results", results), **options)
