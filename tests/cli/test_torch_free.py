"""The results side runs on any CPU box: leaderboard, report, check, groups, variants and cache
work with torch (and the suites, adapters and zoo that need it) blocked from import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.present.synthetic import write_synthetic_run
from tests.torch_blocked import BLOCKER, run_without_torch

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "results" / "baselines" / "quickstart"
POLICY = REPO / "results" / "baselines" / "quickstart-policy.yaml"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_without_torch(*args)


SYNTHETIC = "<synthetic>"  # a small five-suite run written by the test (tests/present/synthetic.py)


@pytest.mark.parametrize(
    "args",
    [
        ("leaderboard", SYNTHETIC),
        # the same command on the committed baseline (~30 s): every board the quickstart has
        pytest.param(("leaderboard", str(BASELINE)), marks=pytest.mark.slow),
        pytest.param(
            ("leaderboard", str(BASELINE), "--format", "csv", "--all-metrics"),
            marks=pytest.mark.slow,  # the same code path as "leaderboard" without torch
        ),
        ("groups", str(BASELINE), "--task", "diabetes", "--suite", "fairness"),
        pytest.param(("variants", str(BASELINE)), marks=pytest.mark.slow),  # ~17 s
        ("check", "--baseline", SYNTHETIC, "--current", SYNTHETIC),
        # the gate on the committed baseline with the repository's policy (~4 s of CPU): every
        # board the quickstart has; the same code path as "check" without torch
        pytest.param(
            ("check", "--baseline", str(BASELINE), "--current", str(BASELINE))
            + ("--policy", str(POLICY)),
            marks=pytest.mark.slow,
        ),
        ("cache",),
    ],
    ids=[
        "leaderboard",
        "leaderboard-baseline",
        "leaderboard-csv",
        "groups",
        "variants",
        "check",
        "check-baseline",
        "cache",
    ],
)
def test_results_commands_run_without_torch(args: tuple[str, ...], tmp_path: Path) -> None:
    if SYNTHETIC in args:
        write_synthetic_run(tmp_path / "synthetic")
        args = tuple(str(tmp_path / "synthetic") if a == SYNTHETIC else a for a in args)
    done = _run(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


@pytest.mark.slow  # builds the committed baseline's report (~100 s): CI runs it
def test_report_runs_without_torch(baseline_site: Path) -> None:
    """`baseline_site` (tests/conftest.py) is the committed baseline's report, built with torch
    blocked; the browser test loads the same site."""
    assert (baseline_site / "index.html").is_file()
    assert list(baseline_site.glob("task-digits-*.html"))


def test_the_blocker_blocks() -> None:
    """The test above would pass vacuously if the blocker let torch through."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER.replace("from harness.cli import main", "import torch")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "blocked in this test" in done.stderr


# `harness list` reads the registries' tables (and the zoo's catalogue) but imports nothing it
# lists: torch, datasets and the heavy libraries stay unimported (it took 2-4 s of CPU before).
HEAVY = BLOCKER.replace(
    '{"torch", "torchvision", "harness.suites", "harness.adapters", "harness.zoo", "foolbox", "datasets"}',
    '{"torch", "torchvision", "foolbox", "datasets", "fairlearn", "transformers", "onnxruntime"}',
)


@pytest.mark.parametrize("what", ["models", "tasks", "suites", "adapters"])
def test_list_imports_no_torch_nor_datasets(what: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HEAVY, "list", what, "--width", "0"],  # one line per entry
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 3 and all(len(ln.split()) >= 4 for ln in lines)  # name, kind, origin, doc


def test_validate_refuses_a_bad_key_before_importing_torch(tmp_path: Path) -> None:
    """A spec with an unreadable key (`timeout: .inf`) is refused by reading it, in one line:
    `validate` imported the planner (torch, datasets: about 3 s of CPU) before reading the spec."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "tasks: [digits]\nmodels: [digits-mlp]\nsuites: {accuracy: {}}\ntimeout: .inf\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", HEAVY, "validate", str(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"error: {spec}: timeout: expected a duration such as 90, 90s, 10m or 2h, got inf"
    ]
