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
