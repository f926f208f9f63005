"""The commands `harness run` ends with paste back into a shell as they are printed."""

from __future__ import annotations

import shlex

from harness.present.run_end_view import run_end_text


def test_a_run_folder_with_spaces_is_quoted_in_the_commands() -> None:
    folder = "/tmp/my results/ünï cødé/runs/quick-1a2b3c4d5e6f"
    lines = run_end_text([], run_dir=folder, width=None).splitlines()
    assert shlex.split(lines[-2]) == [
        "full",
        "boards",
        "(every",
        "metric):",
        "harness",
        "leaderboard",
        folder,
    ]
    assert shlex.split(lines[-1].removeprefix("report: "))[:3] == ["harness", "report", folder]


def test_a_plain_run_folder_is_printed_as_it_is() -> None:
    folder = "results/runs/quick-1a2b3c4d5e6f"
    text = run_end_text([], run_dir=folder, width=None)
    assert f"harness leaderboard {folder}\n" in text


def test_a_verdict_keeps_the_conditions_its_numbers_were_measured_under() -> None:
    """The quickstart baseline's run end: "robust accuracy at L-inf 0.1: best digits-cnn-adv
    0.885 [0.833, 0.922], n=200 ..." with no word that the attacks ran at preset fast (fewer
    iterations than AutoAttack, robust accuracy may sit above preset standard's), which every
    table shows as the number's note; the run end has no table, so the verdict lost it."""
    from pathlib import Path

    from harness.analysis.headline import headline_board, read_outcomes
    from harness.analysis.leaderboard import build_boards
    from harness.run.suite_boards import installed_suite_boards

    root = Path(__file__).resolve().parents[2] / "results" / "baselines" / "quickstart"
    outcomes = read_outcomes(root)
    heads = [
        headline_board(b, outcomes)
        for b in build_boards(root, suite_boards=installed_suite_boards())
        if b.task == "digits"
    ]
    lines = run_end_text(heads, run_dir=str(root), width=None).splitlines()
    at = next(i for i, line in enumerate(lines) if "robust accuracy at L-inf 0.1: best" in line)
    assert lines[at + 1].startswith("    note: preset fast (CI loops)")
    clean = next(i for i, line in enumerate(lines) if "clean accuracy: best" in line)
    assert not lines[clean + 1].startswith("    note:")  # clean accuracy has no note


def test_a_task_without_a_headline_number_says_where_its_numbers_are(tmp_path) -> None:  # noqa: ANN001
    """A fairness-only (or throughput-only) run ended with the task's title and nothing under
    it: `diabetes (n = 89)`, as if the run had measured nothing. It now says which suites give
    the headline and that this run's numbers are on the full boards."""
    from harness.analysis.headline import headline_board, read_outcomes
    from harness.analysis.leaderboard import build_boards
    from harness.cli.main import main
    from harness.run.suite_boards import installed_suite_boards

    spec = tmp_path / "spec.yaml"
    spec.write_text("tasks: [diabetes]\nmodels: [diabetes-logreg]\nsuites: {fairness: {}}\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "r"), "--limit", "120"]) == 0
    root = tmp_path / "r"
    outcomes = read_outcomes(root)
    heads = [
        headline_board(b, outcomes)
        for b in build_boards(root, suite_boards=installed_suite_boards())
    ]
    lines = run_end_text(heads, run_dir=str(root), width=None).splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith("diabetes"))
    assert lines[title + 1] == (
        "  no headline number: clean accuracy comes from the accuracy suite and robust "
        "accuracy from the adversarial suite, and neither ran on this task; this run's "
        "numbers (fairness) are on the full boards"
    )
