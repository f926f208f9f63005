"""The README's commands, in the order a user types them after `make demo`.

Reads the commands from README.md itself (the "Using it" block) and the demo recipe from the
Makefile, so the documentation cannot drift from what works: each command that reads `results`
runs as written (every `a|b|c` alternative, optional `[...]` parts both left out and given) in the
folder where `make demo`'s `harness run` ran, and must exit 0. Commands about a spec of the user's
own (`my-spec.yaml`) or with a placeholder to fill in (`hf:<org>/<model>`, online) are out of
scope here; the CLI tests cover them.

The default test run runs them after a small quickstart of every suite (`mini_demo_folder`,
tests/cli/conftest.py: MINI_QUICKSTART, seconds); the tests marked slow (CI runs them) run them
after the quickstart with a smaller adversarial suite (`demo_folder`, 70 s of CPU) and, for the
commands `_slow` names, after the quickstart as it ships.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shlex
from pathlib import Path

import pytest

from harness.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def _block(markdown: str, heading: str) -> list[str]:
    """The lines of the first ```bash block after `heading`, comments removed."""
    after = markdown[markdown.index(heading) :]
    body = after[
        after.index("```bash") + len("```bash") : after.index("```", after.index("```bash") + 7)
    ]
    return [ln.split("  #")[0].strip() for ln in body.strip().splitlines() if ln.strip()]


def _variants(line: str) -> list[str]:
    """`x a|b [--y]` -> x a, x b, x a --y, x b --y (alternatives, optional parts)."""
    optional = re.findall(r"\[([^\]]+)\]", line)
    base = re.sub(r"\s*\[[^\]]+\]", "", line)
    words = [w.split("|") if "|" in w and not w.startswith("'") else [w] for w in base.split()]
    out = []
    for combo in itertools.product(*words):
        plain = " ".join(combo)
        out.append(plain)
        if optional:
            out.append(" ".join([plain, *optional]))
    return out


def readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    lines = [ln for ln in _block(readme, "## Using it") if ln.startswith("harness ")]
    own = [ln for ln in lines if "my-spec.yaml" not in ln and "<" not in ln]
    return [v for ln in own for v in _variants(ln)]


def test_the_makefile_demo_is_harness_run() -> None:
    recipe = (REPO / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n")[0]
    lines = [line.strip() for line in recipe.strip().splitlines()[1:]]
    assert lines == [
        "$(BIN)/harness run --report results/report",
        "$(BIN)/harness run zoo/text-demo.yaml",
    ]
    readme = (REPO / "README.md").read_text()
    assert _block(readme, "## Two commands")[0].startswith("make demo")
    assert readme_commands()[0] == "harness run"  # "Using it" starts where make demo ended


def test_commands_parsed() -> None:
    commands = readme_commands()
    assert (
        "harness leaderboard results --format md --task digits --all-metrics --allow-partial"
        in commands
    )
    assert any(
        c.startswith("harness check --baseline results/baselines/quickstart") for c in commands
    )
    assert any(c.startswith("harness groups results --condition") for c in commands)


def _needs_full_demo(command: str) -> bool:
    """`harness run` itself (the quickstart as it ships, with or without `--report`), the report
    (about 40 s on the quickstart; the browser and torch-free tests build the same report from the
    committed baseline) and the gate against the committed baseline (which holds the quickstart as
    it ships) run in the slow set, after the full quickstart."""
    return command.startswith(
        ("harness run", "harness report", "harness check --baseline results/baselines")
    )


def _other_format(command: str) -> bool:
    """The leaderboard's CSV and JSON forms (about 14 s each on the quickstart) run in the slow
    set, on the quickstart as it ships (its boards at full size: every OOD detector, every
    severity, 200 adversarial samples); the table and Markdown forms stay in the default run."""
    return command.startswith("harness leaderboard") and any(
        f"--format {f}" in command for f in ("csv", "json")
    )


def _complete_results_again(command: str) -> bool:
    """`harness variants results --allow-partial` on complete results computes what `harness
    variants results` does (about 4 s of CPU on the quickstart): it runs in the slow set, on the
    quickstart as it ships; what the flag does to incomplete results is checked by
    tests/reliability/test_damaged_results.py in the default run."""
    return command == "harness variants results --allow-partial"


def _slow(command: str) -> bool:
    return _needs_full_demo(command) or _other_format(command) or _complete_results_again(command)


@pytest.mark.parametrize("command", [c for c in readme_commands() if not _slow(c)])
def test_readme_command_works_after_a_small_quickstart(
    mini_demo_folder: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _works(mini_demo_folder, command, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in readme_commands() if not _slow(c)])
def test_readme_command_works_after_make_demo(
    demo_folder: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _works(demo_folder, command, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in readme_commands() if _slow(c)])
def test_readme_command_works_after_the_full_quickstart(
    full_demo_folder: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _works(full_demo_folder, command, capsys)


def _works(demo_folder: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with contextlib.chdir(demo_folder):
        code = main(shlex.split(command)[1:])
    captured = capsys.readouterr()
    assert code == 0, f"{command!r} exited {code}:\n{captured.err[-2000:]}"
