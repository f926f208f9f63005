"""`harness groups` in its natural forms on a results folder that holds tables without group
columns and OOD conditions without labels: the clean condition by default, and the tables that
have the requested column (they all exited 2 with "condition 'ood=uniform_noise' has no rows")."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.main import main

SPEC = """
name: groups
device: cpu
limit: 120
bootstrap_resamples: 50
tasks: [digits, diabetes]
models: [digits-mlp, diabetes-logreg]
suites:
  accuracy: {}
  shift:
    corruptions: [gaussian_noise]
    tabular: [gaussian_noise]
    severities: [1]
    ood_sets: [{generated: uniform_noise, n: 50}]
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("groups")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(folder / "results")]) == 0
    return folder / "results"


@pytest.mark.parametrize(
    ("args", "tasks", "group_by"),
    [
        ([], {"diabetes"}, {"sex", "age_band"}),
        (["--by", "sex"], {"diabetes"}, {"sex"}),
        (["--task", "diabetes"], {"diabetes"}, {"sex", "age_band"}),
        (["--by", "label"], {"digits", "diabetes"}, {"label"}),
    ],
)
def test_natural_forms(
    results: Path,
    args: list[str],
    tasks: set[str],
    group_by: set[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    assert main(["groups", str(results), *args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
    assert {r["task"] for r in rows} == tasks
    assert {r["condition"] for r in rows} == {"clean"}
    assert {r["group_by"] for r in rows} == group_by


def test_a_named_condition_and_what_was_left_out(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["groups", str(results), "--condition", "tabular=gaussian_noise/severity=1"]
    assert main([*args, "--by", "sex"]) == 0
    assert "tabular=gaussian_noise/severity=1" in capsys.readouterr().out
    assert main(["groups", str(results)]) == 0
    err = " ".join(capsys.readouterr().err.split())  # wrapped to the width
    assert "left out 2 table(s) without group columns" in err
    # every suite's table holds `clean`: shown once, from the table with the most samples
    assert "each condition is shown once per model and task" in err
    assert main(["groups", str(results), "--condition", "ood=uniform_noise"]) == 2
    assert "has no rows to break down" in capsys.readouterr().err


def test_a_positive_label_the_binary_task_does_not_have_is_refused(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Class 5 of a binary task: every selection rate was 0/n and the demographic parity
    difference 0.000, perfect parity, for a class that does not exist."""
    capsys.readouterr()
    assert main(["groups", str(results), "--positive-label", "5"]) == 2
    err = capsys.readouterr().err
    assert "--positive-label 5 but task 'diabetes' is binary (labels 0 and 1)" in err
    assert len(err.strip().splitlines()) == 1
    # a task of more than two classes counts no positive class: nothing to refuse
    assert (
        main(["groups", str(results), "--task", "digits", "--by", "label", "--positive-label", "5"])
        == 0
    )
    assert main(["groups", str(results), "--by", "sex", "--positive-label", "0"]) == 0


def test_python_notes_are_the_commands_in_its_own_words(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness.groups` and `harness groups` tell the same notes from one source; each names
    the setting that acts on it in its own words (a keyword argument, a flag)."""
    import harness

    notes = harness.groups(results).attrs["notes"][-2:]  # after the codings and positive class
    capsys.readouterr()
    assert main(["groups", str(results), "--width", "1000"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    words = {"by='label'": "--by label", "suite=": "--suite"}
    for note, line in zip(notes, err, strict=True):
        for python, flag in words.items():
            note = note.replace(python, flag)
        assert note == line
    assert "by='label' gives a by-class view" in notes[0]
    assert "suite= picks a table" in notes[1]


def test_the_resamples_help_says_what_they_resample(capsys: pytest.CaptureFixture[str]) -> None:
    """`--resamples` only draws for the accuracy drop under a non-clean `--condition`: on the
    default clean condition 0, 1 and 1000 printed the same intervals, while the help said
    "bootstrap resamples (default 1000)" as if every interval came from them."""
    with pytest.raises(SystemExit):
        main(["groups", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "resamples of each group's accuracy drop under --condition" in help_text
    assert "the clean condition draws none" in help_text
