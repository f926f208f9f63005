"""A few corpus cases through a real `harness` process: what reaches the terminal is one
`error:` line and an exit code, never a traceback (the in-process cases cannot see an
interpreter's own last-resort output)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.present.synthetic import write_synthetic_run

REPO = Path(__file__).resolve().parents[3]
SPEC = """\
timeout: .inf
tasks: [digits]
models: [digits-mlp]
suites: {accuracy: {}}
"""


def _harness(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile-process")
    write_synthetic_run(root / "results", models={"m1": 0.9, "m2": 0.8})
    (root / "a-file").write_text("not a folder\n")
    (root / "spec.yaml").write_text(SPEC)
    (root / "ray.yaml").write_text(SPEC.replace("timeout: .inf\n", ""))
    return root


CASES = {
    "leaderboard-of-a-file": (["leaderboard", "a-file"], "results folder a-file is a file"),
    "junit-to-dev-full": (
        ["check", "--baseline", "results", "--current", "results", "--junit", "/dev/full"],
        "--junit /dev/full is a character device",
    ),
    "timeout-inf": (["validate", "spec.yaml"], "timeout: expected a duration"),
    "seed-true": (["run", "spec.yaml", "--seed", "true"], "argument --seed: expected a whole"),
    # no host before the port: Ray's parser logs a traceback (in its driver process) and refuses
    "ray-address-without-host": (
        ["run", "ray.yaml", "--executor", "ray", "--address", ":6379"],
        "argument --address: ':6379' names no host",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_traceback_reaches_the_terminal(case: str, folder: Path) -> None:
    args, words = CASES[case]
    if "--executor" in args:
        pytest.importorskip("ray")
    if args[0] == "check":  # one run folder, not the results folder
        run = next((folder / "results" / "runs").iterdir())
        args = [str(run) if a == "results" else a for a in args]
    done = _harness(*args, cwd=folder)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert words in done.stderr, done.stderr
