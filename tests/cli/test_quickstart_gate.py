"""The embedded quickstart end to end, gated against the committed baseline (as CI does).

Runs `harness run` (the quickstart, as `make demo` does: `device: auto` resolves to cpu here, the
device the baseline was made on), checks its headline promises on the leaderboard, then `harness
check` against `results/baselines/quickstart` with the repository's policy: an unchanged checkout
must pass. Regenerate the baseline when a change moves numbers on purpose (docs/ci-gate.md).

Every test here on a quickstart run is marked slow (CI runs them: `make test-slow`): they check the
promises on the quickstart with a smaller adversarial suite (`demo_folder`, tests/cli/conftest.py:
TEST_ADVERSARIAL) and on the quickstart as it ships, and run the gate against the committed
baseline (`full_demo_folder`). The default test run checks the open-set benchmark on the
quickstart's own settings alone (`open_set_spec`), and the speed gate on the small quickstart
(`mini_demo_folder`); tests/zoo/test_zoo.py checks the models' digits and MNIST promises and
tests/suites/adversarial/test_escalation.py that digits-cnn-adv raises no validity flag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.analysis.leaderboard import build_boards
from harness.cli.main import main
from harness.run.suite_boards import installed_suite_boards
from tests.cli.conftest import open_set_spec, run_in_folder

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "results" / "baselines" / "quickstart"
POLICY = REPO / "results" / "baselines" / "quickstart-policy.yaml"


@pytest.fixture(scope="module")
def quickstart(demo_folder: Path) -> Path:
    return demo_folder / "results"


@pytest.fixture(scope="module")
def full_quickstart(full_demo_folder: Path) -> Path:
    return full_demo_folder / "results"


@pytest.mark.slow
def test_quickstart_leaderboard_promises(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _digits_promises(quickstart, capsys, adversarial_n=100)


@pytest.mark.slow
def test_full_quickstart_leaderboard_promises(
    full_quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _digits_promises(full_quickstart, capsys, adversarial_n=200)


def test_a_small_quickstarts_digits_board_says_which_suites_took_a_subset(
    mini_demo_folder: Path,
) -> None:
    """The board notes `_digits_promises` reads, on the small quickstart (the default run)."""
    board = next(
        b
        for b in build_boards(
            mini_demo_folder / "results", task="digits", suite_boards=installed_suite_boards()
        )
        if b.task == "digits"
    )
    assert board.n == 719
    assert {"digits-mlp", "digits-mlp@int8"} <= {row.model for row in board.rows}
    for suite, n in (("adversarial", 20), ("shift", 300)):
        note = f"{suite}: evaluated on a seeded label-stratified subset of {n} of 719 samples"
        assert f"{note} (max_samples={n})" in board.notes, board.notes


def _digits_promises(
    quickstart: Path, capsys: pytest.CaptureFixture[str], *, adversarial_n: int
) -> None:
    capsys.readouterr()
    assert main(["leaderboard", str(quickstart), "--task", "digits", "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    key = "robust_acc[attack=ensemble/norm=linf/eps=0.1]"
    adv, plain = rows["digits-cnn-adv"], rows["digits-cnn"]
    assert adv[key] > plain[key] + 0.1  # clearly more robust ...
    assert adv[f"{key}_ci"][0] > plain[f"{key}_ci"][1]  # ... with intervals apart
    assert not adv[f"{key}_flags"] and not plain[f"{key}_flags"]  # and no validity flags
    for model in ("digits-mlp", "digits-cnn", "digits-cnn-adv"):
        assert rows[model]["top1_acc"] > 0.95
    assert {"digits-mlp@int8", "digits-cnn@prune50"} <= set(rows)
    # the board's n is the task's (719); the suites that took part of it say so, once each
    board = next(
        b
        for b in build_boards(quickstart, task="digits", suite_boards=installed_suite_boards())
        if b.task == "digits"
    )
    assert board.n == 719
    for suite, n in (("adversarial", adversarial_n), ("shift", 300)):
        note = f"{suite}: evaluated on a seeded label-stratified subset of {n} of 719 samples"
        assert f"{note} (max_samples={n})" in board.notes, board.notes


@pytest.mark.slow
def test_quickstart_mnist_at_the_classical_budget(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real 28x28 MNIST digits at L-inf 0.3: the adversarially trained CNN is clearly more robust
    than the standard one, with intervals apart and no validity flag (zoo/README.md)."""
    _mnist_promises(quickstart, capsys)


@pytest.mark.slow
def test_full_quickstart_mnist_at_the_classical_budget(
    full_quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _mnist_promises(full_quickstart, capsys)


def _mnist_promises(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["leaderboard", str(quickstart), "--task", "mnist", "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    key = "robust_acc[attack=ensemble/norm=linf/eps=0.3]"
    adv, plain = rows["mnist-cnn-adv"], rows["mnist-cnn"]
    assert adv[key] > plain[key] + 0.5
    assert adv[f"{key}_ci"][0] > plain[f"{key}_ci"][1]
    assert not adv[f"{key}_flags"] and not plain[f"{key}_flags"]
    assert plain["top1_acc"] > 0.95 and adv["top1_acc"] > 0.9


@pytest.mark.slow
def test_quickstart_open_set_benchmark(
    quickstart: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MNIST digits 0-5 against held-out digits 6-9 (near), photo patches and noise (far): the
    headline detector's AUROC per set and per tag, clearly above chance (docs/shift.md)."""
    _open_set_promises(quickstart, capsys)


@pytest.fixture(scope="module")
def open_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = open_set_spec(tmp_path_factory.mktemp("open-set-spec"))
    return run_in_folder(tmp_path_factory, "open-set", ["run", str(spec)]) / "results"


def test_the_quickstarts_open_set_benchmark_alone(
    open_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same promise on the quickstart's open-set settings with its headline detector only
    (seconds; the default test run)."""
    _open_set_promises(open_set, capsys)


def _open_set_promises(quickstart: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["leaderboard", str(quickstart), "--task", "mnist-seen", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["model"] == "mnist-seen-cnn" and row["top1_acc"] > 0.95
    for key in ("ood=mnist-unseen", "ood=natural-patches", "ood=uniform_noise",
                "ood_mean=near", "ood_mean=far"):  # fmt: skip
        column = f"ood_auroc[{key},score=energy]"
        value, (lo, _hi) = row[column], row[f"{column}_ci"]
        assert value > 0.75 and lo > 0.7, (key, value, lo)


@pytest.mark.slow
def test_quickstart_passes_the_gate_against_the_committed_baseline(
    full_quickstart: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "gate.xml"
    code = main(
        [
            "check",
            "--baseline",
            str(BASELINE),
            "--current",
            str(full_quickstart),
            "--policy",
            str(POLICY),
            "--junit",
            str(junit),
        ]
    )
    assert code == 0
    assert "<testsuite" in junit.read_text() and 'failures="0"' in junit.read_text()


def _other_hardware(run: Path) -> None:
    """Rewrite a run copy's throughput records as if measured on another CPU (re-sealed)."""
    from harness.core.hashing import file_sha256
    from harness.core.manifest import JobRecord
    from harness.store.record_file import read_record, record_text

    for metrics in run.glob("jobs/*throughput*/metrics.json"):
        records = json.loads(metrics.read_text())
        for r in records:
            if "device_name" in r["context"]:
                r["context"]["device_name"] = "Other CPU"
        metrics.write_text(json.dumps(records, indent=1, sort_keys=True))
        job = metrics.parent / "job.json"
        record = read_record(job, JobRecord)
        files = {**record.files, "metrics.json": file_sha256(metrics)}
        job.write_text(record_text(record.replace(files=files)))


@pytest.mark.slow
def test_without_a_policy_speed_is_gated_only_on_the_same_hardware(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _speed_gated_only_on_the_same_hardware(quickstart, tmp_path, capsys)


def test_without_a_policy_speed_is_gated_only_on_the_same_hardware_on_a_small_quickstart(
    mini_demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _speed_gated_only_on_the_same_hardware(mini_demo_folder / "results", tmp_path, capsys)


def _speed_gated_only_on_the_same_hardware(
    quickstart: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    (run,) = (quickstart / "runs").iterdir()
    baseline = tmp_path / "baseline" / run.name
    shutil.copytree(run, baseline)
    _other_hardware(baseline)
    # a policy that gates speed (no `ignore`) and accepts only the flags the data and a shared
    # machine raise on their own (docs/ci-gate.md): speed must pass as "not gated" here
    policy = tmp_path / "gate-speed.yaml"
    models = {job.name.split("--")[0] for job in (run / "jobs").iterdir()}
    diabetes = sorted(models & {"diabetes-logreg", "diabetes-mlp"})  # those the run has
    policy.write_text(
        "accept_flags:\n"
        + "".join(f"  {model}: [small_denominator]\n" for model in diabetes)
        + '  "*": [unstable_timing]\n'
    )
    capsys.readouterr()
    code = main(
        ["check", "--baseline", str(baseline), "--current", str(run), "--policy", str(policy)]
        + ["--width", "0"]  # one line per check, unwrapped
    )
    assert code == 0
    out = capsys.readouterr().out
    speed = [ln for ln in out.splitlines() if "throughput_samples_per_s" in ln]
    assert speed and all("not gated: measured on different hardware" in ln for ln in speed)
    assert "Other CPU" in out and "metric missing" not in out
