"""The shift suite's settings that name models (`mce_baseline`, `effective_robustness_testbed`)
name models of the spec: a typo is refused by `harness validate` and `harness run` alike, instead
of a run that exits 0 with a board note saying there is no mCE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.config.planner import build_plan
from harness.config.spec import load_spec
from harness.run.plugins import installed_plugins

SPEC = """\
name: names
device: cpu
tasks: [digits]
models:
  - {name: digits-mlp, variants: [int8]}
  - digits-cnn
suites:
  shift: {corruptions: [fog], severities: [1], SETTING}
"""


def _validate(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str], setting: str
) -> tuple[int, list[str]]:
    code = main(["validate", str(write_spec(SPEC.replace("SETTING", setting)))])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("setting", "expect"),
    [
        (
            "mce_baseline: digits-mpl",
            "error: suites.shift.mce_baseline: 'digits-mpl' is not a model of this spec (models: "
            "digits-mlp, digits-mlp@int8, digits-cnn); did you mean 'digits-mlp'?",
        ),
        (
            "mce_baseline: m-nope",
            "error: suites.shift.mce_baseline: 'm-nope' is not a model of this spec (models: "
            "digits-mlp, digits-mlp@int8, digits-cnn)",
        ),
        (
            "effective_robustness_testbed: [digits-cnn, m-other]",
            "error: suites.shift.effective_robustness_testbed: 'm-other' is not a model of this "
            "spec (models: digits-mlp, digits-mlp@int8, digits-cnn)",
        ),
    ],
)
def test_a_model_setting_naming_no_model_of_the_spec_is_refused(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str], setting: str, expect: str
) -> None:
    code, lines = _validate(write_spec, capsys, setting)
    assert (code, lines) == (2, [expect])


def test_the_run_refuses_it_before_any_job(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC.replace("SETTING", "mce_baseline: m-nope"))
    assert main(["run", str(spec), "--out", str(spec.parent / "out")]) == 2
    assert "'m-nope' is not a model of this spec" in capsys.readouterr().err
    assert not (spec.parent / "out").exists()


@pytest.mark.parametrize(
    "setting",
    [
        "mce_baseline: digits-mlp",
        "mce_baseline: digits-mlp@int8",  # a variant the spec defines
        "effective_robustness_testbed: [digits-mlp, digits-cnn, digits-mlp@int8]",
    ],
)
def test_models_and_variants_of_the_spec_are_accepted(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str], setting: str
) -> None:
    assert _validate(write_spec, capsys, setting) == (0, [])


def test_a_baseline_left_out_by_models_filter_is_still_a_model_of_the_spec(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--models digits-cnn` runs one model; the baseline is another model of the same spec
    (run before, on the same board): accepted."""
    spec = write_spec(SPEC.replace("SETTING", "mce_baseline: digits-mlp"))
    plan = build_plan(
        load_spec(spec), base_dir=spec.parent, plugins=installed_plugins(), models=["digits-cnn"]
    )
    assert [job.model for job in plan.jobs] == ["digits-cnn"]
