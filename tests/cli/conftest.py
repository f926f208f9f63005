"""The quickstart as `make demo` runs it, in a folder of its own, once per test session.

`make demo` runs `harness run` in the repository root; here the same command runs in a temporary
folder whose `results/baselines` links to the repository's committed baselines, so the README's
commands (which say `results/...`) work there exactly as they do in a checkout.

Three folders: `mini_demo_folder` (the default test run) runs a quickstart of every suite on three
of its models and few samples, `MINI_QUICKSTART`, for the README's commands and the promises no
other default test reads (seconds instead of the 70 s of CPU the next one takes); `demo_folder`
(tests marked slow, which CI runs) runs the quickstart with a smaller adversarial
configuration, `TEST_ADVERSARIAL`, because the quickstart's adversarial jobs are most of its cost,
fewer timed calls, `TEST_THROUGHPUT`, and a smaller shift configuration, `TEST_SHIFT`, because the boards of every command that reads
the results compare the variants with their models on every OOD detector; `full_demo_folder`
(tests marked slow too) runs the quickstart exactly as `make demo` does, and is the one
compared with the committed baseline.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli.main import main

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "zoo" / "quickstart.yaml"

TEST_ADVERSARIAL: dict[str, Any] = {"preset": "fast", "max_samples": 100, "check_samples": 100}
"""The quickstart's adversarial suite in the default test run (docs/adversarial.md, "Quickstart"):
the same preset on a seeded stratified 100 samples per task (the quickstart: 200) at each task's
headline threat model only, the suite's default budgets (digits and diabetes L-inf 0.1, MNIST
L-inf 0.3; the quickstart runs L-inf 0.05, 0.1 and 0.3 on every task, and 0.05 is where the most
samples survive and so the cascade costs the most)."""

TEST_SHIFT: dict[str, Any] = {
    "severities": [3],
    "ood": {"detectors": ["msp", "energy", "mahalanobis", "react"]},
}
"""The quickstart's shift suite in the default test run, on the same 300 samples per task with the
same corruptions, shifted task and OOD sets: one severity (the quickstart: 1, 3 and 5) and four OOD
detectors, one of each kind that the boards treat alike (the logit scores msp and energy, energy
being the headline the open-set promise reads, the feature-space mahalanobis, the head-rewriting
react; the quickstart: all 13 default detectors). Every board comparing a variant with its model
resamples each detector's AUROC and AUPRs: the leaderboard on this run takes 5.9 s of CPU against
12.2 s on `TEST_ADVERSARIAL` alone, and the shift jobs 8 s against 24 s. Every other suite runs as
in the quickstart."""


TEST_THROUGHPUT: dict[str, Any] = {"warmup_iters": 1, "timed_iters": 2}
"""The quickstart's throughput suite in the default test run: the same batch sizes, rounds and
conditions with fewer calls per round (the quickstart: 2 warm-up calls and 10 timed calls per
round). The tests read which speed rows exist and how the gate treats them, never the speed (the
committed baseline's gate, with its policy, runs on the full quickstart in the slow set)."""


def quickstart_test_spec(folder: Path) -> Path:
    """zoo/quickstart.yaml with `TEST_ADVERSARIAL` as its adversarial suite and `TEST_SHIFT`'s and
    `TEST_THROUGHPUT`'s settings in its shift and throughput suites, written to `folder`."""
    spec = yaml.safe_load(QUICKSTART.read_text())
    spec["suites"]["adversarial"] = dict(TEST_ADVERSARIAL)
    spec["suites"]["shift"].update(TEST_SHIFT)
    spec["suites"]["throughput"].update(TEST_THROUGHPUT)
    path = folder / "quickstart-tests.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


MINI_QUICKSTART: dict[str, Any] = {
    "tasks": ["digits", "diabetes"],
    "models": [{"name": "digits-mlp", "variants": ["int8"]}, "diabetes-logreg"],
    "adversarial": {
        "preset": "fast",
        "epsilons": {"linf": [0.1]},
        "max_samples": 20,
        "check_samples": 20,
    },
    "shift": {
        "corruptions": {"digits": ["gaussian_noise", "fog"]},
        "severities": [3],
        "ood": {"detectors": ["msp", "energy"]},
    },
    "throughput": {"batch_sizes": [1], "warmup_iters": 1, "timed_iters": 2},
}
"""The default test run's small quickstart: zoo/quickstart.yaml's suites with every setting it does
not name (fairness by sex and age band, the shift suite's 300 samples, shifted task and OOD sets),
on one model of each kind (an image MLP with its int8 variant, a tabular model), the adversarial
suite on 20 samples at L-inf 0.1, two corruptions at one severity, two OOD detectors and a few
timed calls: what the README's commands read, in seconds (the quickstart's open-set benchmark:
`open_set_spec`)."""


def mini_quickstart_spec(folder: Path) -> Path:
    """zoo/quickstart.yaml cut down to `MINI_QUICKSTART`, written to `folder`."""
    spec = yaml.safe_load(QUICKSTART.read_text())
    spec["name"] = "quickstart-mini"
    spec["tasks"] = list(MINI_QUICKSTART["tasks"])
    spec["models"] = list(MINI_QUICKSTART["models"])
    suites = spec["suites"]
    suites["adversarial"] = dict(MINI_QUICKSTART["adversarial"])
    for suite in ("shift", "throughput"):
        suites[suite].update(MINI_QUICKSTART[suite])
    for task in ("mnist", "mnist-seen"):  # tasks this run leaves out
        suites["shift"]["ood_sets"].pop(task)
    path = folder / "quickstart-mini.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def open_set_spec(folder: Path) -> Path:
    """The quickstart's open-set benchmark alone: mnist-seen-cnn on mnist-seen through the
    accuracy suite and the quickstart's shift suite (its 300 samples, OOD sets and fit) with the headline detector,
    energy, only and no corruptions (none run on mnist-seen in the quickstart either)."""
    spec = yaml.safe_load(QUICKSTART.read_text())
    shift = spec["suites"]["shift"]
    shift.update(
        corruptions=[],
        severities=[3],
        shifted_tasks={},
        ood_sets={"mnist-seen": shift["ood_sets"]["mnist-seen"]},
        ood={"detectors": ["energy"]},
    )
    shift.pop("mce_baseline")
    spec.update(
        name="quickstart-open-set",
        tasks=["mnist-seen"],
        models=["mnist-seen-cnn"],
        suites={"accuracy": {}, "shift": shift},
    )
    path = folder / "quickstart-open-set.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_in_folder(tmp_path_factory: pytest.TempPathFactory, name: str, args: list[str]) -> Path:
    """`harness <args>` run in a new folder (returned) whose `results/baselines` links to the
    repository's committed baselines."""
    folder = tmp_path_factory.mktemp(name)
    (folder / "results").mkdir()
    (folder / "results" / "baselines").symlink_to(REPO / "results" / "baselines")
    with contextlib.chdir(folder):
        assert main(args) == 0
    return folder


@pytest.fixture(scope="session")
def mini_demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `harness run` has run `MINI_QUICKSTART` (the default test run)."""
    spec = mini_quickstart_spec(tmp_path_factory.mktemp("mini-spec"))
    return run_in_folder(tmp_path_factory, "mini-demo", ["run", str(spec)])


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `harness run` has run the quickstart with `TEST_ADVERSARIAL` and
    `TEST_SHIFT` (slow tests)."""
    spec = quickstart_test_spec(tmp_path_factory.mktemp("demo-spec"))
    return run_in_folder(tmp_path_factory, "demo", ["run", str(spec)])


@pytest.fixture(scope="session")
def full_demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `harness run` (the Makefile's demo recipe) has run the quickstart as it
    ships (slow tests only: compared with the committed baseline)."""
    return run_in_folder(tmp_path_factory, "demo-full", ["run"])
