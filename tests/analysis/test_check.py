"""The CI gate end to end: a degraded model fails, an unchanged rerun passes, bad input exits 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from harness.cli.main import main
from harness.core.hashing import file_sha256
from harness.core.manifest import JobStatus
from harness.core.metric_record import MetricRecord
from harness.core.suite_board import suite_configs
from harness.data.builtin import digits_arrays
from harness.run.suite_boards import installed_suite_boards
from harness.store.checksums import seal
from harness.store.run_store import RunStore
from tests.fixture_models import linear_digits
from tests.present.synthetic import write_synthetic_run
from tests.store.records import job_entry, job_record, run_manifest

CONFIGS = suite_configs(installed_suite_boards())

SPEC = """\
name: gate
seed: 5
device: cpu
limit: 240
bootstrap_resamples: 100
tasks: [digits]
models:
  - name: lin
    factory: tests.fixture_models:linear_digits
    weights: lin.safetensors
    input_shape: [1, 8, 8]
suites:
  accuracy: {}
"""


def _trained_weights(noise: float = 0.0) -> dict[str, torch.Tensor]:
    """A least-squares linear digits classifier (~90% accurate); `noise` degrades it."""
    x, y = digits_arrays("train")
    x = torch.as_tensor(x.reshape(len(x), -1), dtype=torch.float64)
    target = torch.nn.functional.one_hot(torch.as_tensor(y), 10).double()
    design = torch.cat([x, torch.ones(len(x), 1, dtype=torch.float64)], dim=1)
    gram = design.T @ design + 1e-2 * torch.eye(design.shape[1], dtype=torch.float64)
    sol = torch.linalg.solve(gram, design.T @ target)  # ridge least squares
    weight, bias = sol[:-1].T.float(), sol[-1].float()
    if noise:
        gen = torch.Generator().manual_seed(7)
        weight = weight + noise * weight.std() * torch.randn(weight.shape, generator=gen)
    return {"1.weight": weight.contiguous(), "1.bias": bias.contiguous()}


def _run(folder: Path, noise: float = 0.0, spec: str = SPEC) -> Path:
    folder.mkdir(parents=True)
    save_file(_trained_weights(noise), str(folder / "lin.safetensors"))
    (folder / "spec.yaml").write_text(spec)
    assert main(["run", str(folder / "spec.yaml"), "--out", str(folder / "out")]) == 0
    return next((folder / "out" / "runs").iterdir())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gate")
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    return {
        "base": _run(root / "base"),
        "same": _run(root / "same"),
        "bad": _run(root / "bad", noise=1.5),
    }


def check(*args: object) -> int:
    # the gate's logic, read from its table: unfitted (test_output_width.py checks the layout)
    return main(["check", *[str(a) for a in args], "--width", "0"])


def test_fixture_weights_match_factory_layout() -> None:
    assert set(_trained_weights()) == set(linear_digits().state_dict())


def test_unchanged_rerun_passes(
    runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "j" / "junit.xml"
    assert check("--baseline", runs["base"], "--current", runs["same"], "--junit", junit) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "top1_acc" in out and "mcnemar_exact" in out
    assert 'failures="0"' in junit.read_text()
    assert "all 3 checks passed" in summary.read_text()


def test_degraded_model_fails(
    runs: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    assert (
        check(
            "--baseline", runs["base"], "--current", runs["bad"], "--junit", junit, "--format", "md"
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "significant regression beyond tolerance" in out and "❌" in out
    assert "<failure" in junit.read_text()
    # a failure names the test's 95% interval of the change: it holds the change, not 0
    top1 = next(line for line in out.splitlines() if "| top1_acc |" in line)
    cells = [c.strip() for c in top1.split("|")]
    assert cells[1] == "FAIL" and cells[9] == "mcnemar_exact"
    interval = r"95% interval of the change \\\[([-+][\d.e-]+), ([-+][\d.e-]+)\\\]"
    match = re.search(interval, cells[12])  # Markdown escapes the brackets
    assert match is not None, cells[12]
    low, high = float(match[1]), float(match[2])
    assert low <= float(cells[8].split()[0]) <= high < 0  # the delta, then its interval
    assert "95% interval of the change [" in junit.read_text()


@pytest.mark.parametrize(
    ("policy", "where", "says"),
    [
        ("metrics:\n  top1_acc: {floor: 85}\n", "metrics.top1_acc.floor: 85", "fail every run"),
        ("metrics:\n  top1_acc: {floor: -0.1}\n", "metrics.top1_acc.floor", "pass every run"),
        ("metrics:\n  top1_acc: {max_drop: 2}\n", "metrics.top1_acc.max_drop: 2", "0.02"),
        ("default: {max_drop: 5}\n", "default.max_drop: 5", "pass every run"),
    ],
)
def test_a_tolerance_a_fraction_cannot_meet_or_trip_is_refused(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    policy: str,
    where: str,
    says: str,
) -> None:
    """`floor: 85` or `max_drop: 2` on an accuracy (a percentage written for a fraction) would
    make a gate that fails every run, or one that passes every run without a word."""
    path = tmp_path / "pct.yaml"
    path.write_text(policy)
    assert check("--baseline", runs["base"], "--current", runs["bad"], "--policy", path) == 2
    err = capsys.readouterr().err
    assert where in err and says in err and "a fraction in [0, 1]" in err
    assert len(err.strip().splitlines()) == 1


def test_a_relative_tolerance_and_a_drop_below_one_are_not_refused(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    """A relative rise of 2 (200%) on a lower-is-better score and an absolute 0.99 are legal,
    if loose, tolerances."""
    path = tmp_path / "ok.yaml"
    path.write_text(
        "default: {max_drop_relative: 0.99}\nmetrics:\n  top1_acc: {max_drop: 0.99}\n"
        "  brier: {max_drop_relative: 2}\n"
    )
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", path) == 0


@pytest.mark.parametrize(
    ("policy", "where"),
    [
        ("metrics:\n  top1_acc: {max_drop_relative: 5}\n", "metrics.top1_acc.max_drop_relative: 5"),
        ("default: {max_drop_relative: 10}\n", "default.max_drop_relative: 10"),
        (
            "metrics:\n  top1_acc: {max_drop: 0.02, max_drop_relative: 1}\n",
            "metrics.top1_acc.max_drop_relative: 1",
        ),
    ],
)
def test_a_relative_tolerance_a_higher_is_better_fraction_cannot_trip_is_refused(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    policy: str,
    where: str,
) -> None:
    """`max_drop_relative: 5` meant as 5%: an accuracy cannot drop by more than all of its
    baseline, so the rule never trips and the degraded model (top-1 0.9 -> ~0.6) passed."""
    path = tmp_path / "rel.yaml"
    path.write_text(policy)
    assert check("--baseline", runs["base"], "--current", runs["bad"], "--policy", path) == 2
    err = capsys.readouterr().err
    assert where in err and "would pass every run" in err and "cannot drop by more than" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("floor", ["0.8", "90"])
def test_a_floor_under_default_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], floor: str
) -> None:
    """`default: {floor: 0.8}` applied to every metric without a rule: a ceiling of 0.8 on ECE
    and Brier (which passes any calibration), on latency 0.8 ms, on peak memory 0.8 MiB (the
    quickstart's baseline failed its own rerun: "above the ceiling 0.8" on 534 MiB)."""
    path = tmp_path / "floor.yaml"
    path.write_text(f"default: {{floor: {floor}}}\n")
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", path) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"policy file {path}: default.floor:" in err and "metrics.<name>" in err, err
    assert f"(got {floor})" in err


@pytest.fixture(scope="module")
def timed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose headline has a throughput (samples/s) beside fractions."""
    return write_synthetic_run(tmp_path_factory.mktemp("timed") / "r", models={"m1": 0.9})


def test_an_absolute_default_drop_on_a_measured_unit_is_refused(
    timed_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`default: {max_drop: 0.01}` (one accuracy point meant) gated throughput at a drop of
    0.01 samples/s, without a word: the number means something else in every unit."""
    path = tmp_path / "drop.yaml"
    path.write_text("default: {max_drop: 0.01}\n")
    assert check("--baseline", timed_run, "--current", timed_run, "--policy", path) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "default.max_drop: 0.01 applies to throughput_samples_per_s" in err
    assert "0.01 samples/s" in err and "metrics.throughput_samples_per_s" in err
    # the metric's own rule (a tolerance, or ignore) or a relative default is what to write
    for fixed in (
        "default: {max_drop: 0.01}\nmetrics:\n  throughput_samples_per_s: {max_drop_relative: 0.2}\n",
        "default: {max_drop: 0.01}\nmetrics:\n  throughput_samples_per_s: {ignore: true}\n",
        "default: {max_drop_relative: 0.2}\n",
    ):
        path.write_text(fixed)
        assert check("--baseline", timed_run, "--current", timed_run, "--policy", path) == 0


def test_a_rule_on_a_board_column_is_range_checked_as_the_rule_it_is(
    timed_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rule may name a suite's board column (`top1_acc[suite=accuracy]`); the range check
    took such a rule for `default`'s: a valid absolute tolerance of the column's own in
    samples/s was refused as `default.max_drop`, and a floor of 85 was blamed on
    `default.floor`, a key the policy does not have."""
    column = "throughput_samples_per_s[batch_size=64,device=cpu,precision=fp32,suite=throughput]"
    path = tmp_path / "column.yaml"
    path.write_text(f"metrics:\n  {column!r}: {{max_drop: 50}}\n".replace("'", '"'))
    assert check("--baseline", timed_run, "--current", timed_run, "--policy", path) == 0
    capsys.readouterr()
    path.write_text('metrics:\n  "top1_acc[suite=accuracy]": {floor: 85}\n')
    assert check("--baseline", timed_run, "--current", timed_run, "--policy", path) == 2
    err = capsys.readouterr().err
    assert "metrics.top1_acc[suite=accuracy].floor: 85 applies to top1_acc" in err, err


@pytest.mark.parametrize(
    ("policy", "key"),
    [
        ("alpha: 0.5\n", "alpha"),
        ("default: {alpha: 0.9}\n", "default.alpha"),
        ("metrics:\n  top1_acc: {alpha: 0.25}\n", "metrics.top1_acc.alpha"),
        ("alpha: 1\n", "alpha"),
    ],
)
def test_an_alpha_that_calls_noise_significant_is_refused(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    policy: str,
    key: str,
) -> None:
    """`alpha: 0.5` was accepted (the field allowed anything in (0, 1)): a gate that calls half
    of the harmless reruns of each metric a significant change."""
    path = tmp_path / "alpha.yaml"
    path.write_text(policy)
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", path) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert f"policy file {path}: {key}: at most 0.2" in err and "0.05 is usual" in err, err
    path.write_text(policy.replace(policy.split("alpha: ")[1].rstrip("}\n"), "0.2"))
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", path) == 0


def test_policy_tolerance_lets_a_drop_pass_and_unknown_metric_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = tmp_path / "loose.yaml"
    loose.write_text("default: {max_drop: 0.99}\n")
    assert check("--baseline", runs["base"], "--current", runs["bad"], "--policy", loose) == 0
    floor = tmp_path / "floor.yaml"
    floor.write_text("metrics:\n  top1_acc: {floor: 0.99}\n")
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", floor) == 1
    assert "below the floor" in capsys.readouterr().out
    typo = tmp_path / "typo.yaml"
    typo.write_text("metrics:\n  top1_accuracy: {max_drop: 0.01}\n")
    assert check("--baseline", runs["base"], "--current", runs["same"], "--policy", typo) == 2
    err = capsys.readouterr().err
    assert "metrics.top1_accuracy" in err and "did you mean top1_acc" in err


def test_different_spec_is_refused_naming_the_difference(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = _run(tmp_path / "other", spec=SPEC.replace("limit: 240", "limit: 200"))
    assert check("--baseline", runs["base"], "--current", other) == 2
    assert "limit (240 vs 200)" in capsys.readouterr().err


def test_a_baseline_from_another_device_is_refused_saying_what_to_do(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a run made on a GPU (the same spec with device: cuda), written without a GPU: its manifest
    gpu = tmp_path / "gpu"
    shutil.copytree(runs["same"], gpu)
    manifest = json.loads((gpu / "manifest.json").read_text())
    manifest["spec"]["device"] = "cuda"
    manifest["spec_hash"] = "0" * len(manifest["spec_hash"])
    (gpu / "manifest.json").write_text(json.dumps(seal(manifest)))
    assert check("--baseline", runs["base"], "--current", gpu) == 2
    err = capsys.readouterr().err
    assert 'device ("cpu" vs "cuda")' in err
    assert "make the baseline on 'cuda'" in err and "--device cpu" in err
    assert len(err.strip().splitlines()) == 1


def test_a_refused_gate_replaces_the_previous_junit_report_and_says_so(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A gate that cannot compare (exit 2) must not leave the last gate's all-passed JUnit
    report in place: CI publishes that file whatever the exit code, and showed the stale passes
    as this run's tests. The report holds one error naming the reason; the step summary too."""
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "gate.xml"
    assert check("--baseline", runs["base"], "--current", runs["same"], "--junit", junit) == 0
    assert 'failures="0"' in junit.read_text()
    capsys.readouterr()
    seed = tmp_path / "seed"
    shutil.copytree(runs["same"], seed)
    manifest = json.loads((seed / "manifest.json").read_text())
    manifest["spec"]["seed"] = 6
    manifest["spec_hash"] = "0" * len(manifest["spec_hash"])
    (seed / "manifest.json").write_text(json.dumps(seal(manifest)))
    assert check("--baseline", runs["base"], "--current", seed, "--junit", junit) == 2
    err = capsys.readouterr().err
    assert "seed (5 vs 6)" in err and len(err.strip().splitlines()) == 1
    report = junit.read_text()
    assert "<testcase" in report and 'errors="1"' in report and "<error" in report
    assert "seed (5 vs 6)" in report and "top1_acc" not in report
    text = summary.read_text()
    assert "could not compare" in text and "seed (5 vs 6)" in text
    # a current folder that is missing altogether (the run step crashed) is the same refusal
    assert check("--baseline", runs["base"], "--current", tmp_path / "none", "--junit", junit) == 2
    assert "does not exist" in junit.read_text()


def test_a_run_made_in_two_invocations_with_other_filters_is_read_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness run spec --models m2` after `--models m1` into one folder: the manifest lists
    the last invocation's jobs only, m1's folders stay in the run (the leaderboard reads them).
    The gate said `job missing from the current run` for m1 and failed a run that was whole."""
    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8})
    cur = write_synthetic_run(tmp_path / "c", models={"m1": 0.9, "m2": 0.8})
    path = cur / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["jobs"] = [e for e in manifest["jobs"] if e["model"] != "m1"]
    path.write_text(json.dumps(seal(manifest)))
    assert check("--baseline", base, "--current", cur) == 0
    out = capsys.readouterr().out
    assert "job missing" not in out
    assert re.search(r"PASS +m1 +digits +accuracy +top1_acc", out), out


def test_a_baseline_from_another_harness_version_is_compared_and_says_so(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A baseline written months ago by an older harness: compared (suite versions and configs
    agree), and the gate says which harness wrote each run instead of passing without a word."""
    old = tmp_path / "old"
    shutil.copytree(runs["base"], old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["harness_version"] = "0.0.9"
    (old / "manifest.json").write_text(json.dumps(seal(manifest)))
    now = json.loads((runs["same"] / "manifest.json").read_text())["harness_version"]
    assert check("--baseline", old, "--current", runs["same"]) == 0
    assert check("--baseline", old, "--current", runs["same"], "--format", "md") == 0
    out = capsys.readouterr().out
    note = f"baseline written by harness 0.0.9, current by {now}"
    assert out.count(note) == 2, out


def test_a_baseline_of_other_suite_versions_is_refused_naming_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After an upgrade (0.1.0: accuracy 3, fairness 3; now 9 and 11) the gate refused with
    the first job it met (`suite 'accuracy' suite version differs for m1 on digits: baseline 3
    vs current 9`): no folder, no other suite, nothing on what to do. One line now names the
    baseline, every suite whose version or config differs, and how to make them agree."""
    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8})
    cur = write_synthetic_run(tmp_path / "c", models={"m1": 0.9, "m2": 0.8})
    for path in base.glob("jobs/*/job.json"):
        record = json.loads(path.read_text())
        if record["suite"] == "accuracy":
            record["suite_version"] = "0"
        elif record["suite"] == "fairness":
            record["suite_config_hash"] = "0" * 64
        path.write_text(json.dumps(seal(record)))
    before = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}
    assert check("--baseline", base, "--current", cur) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert err.strip() == (
        f"error: baseline {base} was measured with other suite versions or configs than "
        f"current {cur}: accuracy version 0 vs 1, fairness config 000000000000 vs cccccccccccc; "
        "numbers of different suite versions or configs are not compared: make the baseline "
        "again with the harness that wrote the current run (harness run SPEC --out BASELINE)"
    )
    assert {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == before


def test_damaged_and_partial_results_exit_2(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(runs["same"], damaged)
    metrics = next(damaged.glob("jobs/*/metrics.json"))
    metrics.write_text(metrics.read_text().replace("top1_acc", "top1_acx"))
    assert check("--baseline", runs["base"], "--current", damaged) == 2
    assert str(metrics) in capsys.readouterr().err
    partial = tmp_path / "partial"
    shutil.copytree(runs["same"], partial)
    shutil.rmtree(next(partial.glob("jobs/*")))
    assert check("--baseline", runs["base"], "--current", partial) == 2
    assert "partial" in capsys.readouterr().err


def test_fails_closed_on_failed_job_and_new_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8})
    flagged = write_synthetic_run(tmp_path / "c", models={"m1": 0.9, "m2": 0.8}, flag_model="m1")
    assert check("--baseline", base, "--current", flagged) == 1
    out = capsys.readouterr().out
    assert "reliability flag present: gradient_masking_suspected (newly raised)" in out
    failed = tmp_path / "f"
    shutil.copytree(base, failed)
    store = RunStore(failed)
    manifest = store.read_manifest()
    assert manifest is not None
    first = manifest.jobs[0].replace(
        status=JobStatus.FAILED, message="ModelOutputError: NaN logits"
    )
    store.write_manifest(manifest.replace(jobs=(first, *manifest.jobs[1:])))
    assert check("--baseline", base, "--current", failed) == 1
    assert "job failed in the current run: ModelOutputError" in capsys.readouterr().out
    same = write_synthetic_run(tmp_path / "s", models={"m1": 0.9, "m2": 0.8})
    assert check("--baseline", base, "--current", same) == 0


def test_without_a_policy_a_flag_the_baseline_had_is_still_flagged_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = {"m1": 0.9, "m2": 0.8}
    base = write_synthetic_run(tmp_path / "b", models=models, flag_model="m1")
    cur = write_synthetic_run(tmp_path / "c", models=models, flag_model="m1")
    assert check("--baseline", base, "--current", cur) == 0  # an unchanged rerun with flags
    out = capsys.readouterr().out
    flagged = [ln for ln in out.splitlines() if "robust_acc[" in ln and "eps=0.1" in ln]
    m1 = [ln for ln in flagged if " m1 " in ln]
    assert len(m1) == 1 and m1[0].startswith("PASS")
    assert "still flagged: gradient_masking_suspected (as in the baseline); " in m1[0]
    assert "PASS: " in out and "(1 still flagged, as in the baseline)" in out
    assert all("still flagged" not in ln for ln in flagged if " m2 " in ln)
    # the metric is still compared: a regression on a still-flagged metric fails as usual
    worse = write_synthetic_run(tmp_path / "w", models={"m1": 0.5, "m2": 0.8}, flag_model="m1")
    assert check("--baseline", base, "--current", worse) == 1
    out = capsys.readouterr().out
    row = next(
        ln for ln in out.splitlines() if " m1 " in ln and "robust_acc[" in ln and "eps=0.1" in ln
    )
    assert row.startswith("FAIL") and "still flagged" in row and "significant regression" in row


def test_without_a_policy_a_newly_flagged_cell_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = {"m1": 0.9, "m2": 0.8}
    base = write_synthetic_run(tmp_path / "b", models=models, flag_model="m1")
    # m2's cell is flagged now, m1's is as in the baseline: only m2 fails
    cur = write_synthetic_run(tmp_path / "c", models=models, flag_model="m2")
    assert check("--baseline", base, "--current", cur) == 1
    out = capsys.readouterr().out
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL ")]
    assert len(fails) == 1 and " m2 " in fails[0]
    assert "reliability flag present: gradient_masking_suspected (newly raised)" in fails[0]
    assert "FAIL: 1 of " in out


def test_a_policy_file_fails_a_flag_the_baseline_had_unless_accepted_or_told_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = {"m1": 0.9, "m2": 0.8}
    base = write_synthetic_run(tmp_path / "b", models=models, flag_model="m1")
    cur = write_synthetic_run(tmp_path / "c", models=models, flag_model="m1")
    strict = tmp_path / "strict.yaml"
    strict.write_text("alpha: 0.05\n")
    assert check("--baseline", base, "--current", cur, "--policy", strict) == 1
    assert "(the baseline had gradient_masking_suspected too)" in capsys.readouterr().out
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text("baseline_flags: still_flagged\n")
    assert check("--baseline", base, "--current", cur, "--policy", lenient) == 0
    accept = tmp_path / "accept.yaml"
    accept.write_text("accept_flags:\n  m1: [gradient_masking_suspected]\n")
    assert check("--baseline", base, "--current", cur, "--policy", accept) == 0
    star = tmp_path / "star.yaml"
    star.write_text("accept_flags: {'*': [gradient_masking_suspected]}\n")
    assert check("--baseline", base, "--current", cur, "--policy", star) == 0
    other = tmp_path / "other.yaml"
    other.write_text("accept_flags:\n  m2: [gradient_masking_suspected]\n")
    assert check("--baseline", base, "--current", cur, "--policy", other) == 1  # not m1
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("baseline_flags: ignore\n")
    assert check("--baseline", base, "--current", cur, "--policy", wrong) == 2
    assert "baseline_flags" in capsys.readouterr().err


def test_a_policy_may_name_a_board_column_of_one_suite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where two suites report one metric on a board, the leaderboard names the columns
    `clean_acc[suite=adversarial]` and `clean_acc[suite=shift]`. A policy copying that column
    name was refused as naming no metric of the baseline, so no rule could reach one suite's
    number alone; now it gates exactly that suite's metric."""
    from harness.core.metric_record import MetricRecord

    def clean(suite: str, value: float) -> MetricRecord:
        return MetricRecord(
            suite=suite,
            metric="clean_acc",
            value=value,
            unit="fraction",
            higher_is_better=True,
            n=200,
            ci=(value - 0.05, value + 0.05),
            ci_method="Wilson score interval, 95%",
        )

    def run(folder: str, shift: float) -> Path:
        more = {
            ("m1", "adversarial"): [clean("adversarial", 0.9)],
            ("m1", "shift"): [clean("shift", shift)],
        }
        return write_synthetic_run(tmp_path / folder, models={"m1": 0.9, "m2": 0.8}, more=more)

    base, cur = run("b", 0.9), run("c", 0.7)
    policy = tmp_path / "gate.yaml"
    policy.write_text('metrics:\n  "clean_acc[suite=shift]": {floor: 0.8}\n')
    assert check("--baseline", base, "--current", cur, "--policy", policy) == 1
    out = capsys.readouterr().out
    rows = [r for r in map(str.split, out.splitlines()) if r[4:5] == ["clean_acc"]]
    assert [(r[0], r[1], r[3]) for r in rows] == [("FAIL", "m1", "shift")], out
    assert "below the floor 0.8" in out


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("accept_flags: {m3: [gradient_masking_suspected]}", "accept_flags.m3 names a model"),
        ("accept_flags: {m11: [untimed_work]}", "did you mean m1"),
        ("accept_flags: {m1: [gradient_masking]}", "did you mean gradient_masking_suspected"),
        ("accept_flags: {m1: [decision_attack_faild]}", "did you mean decision_attack_failed"),
    ],
)
def test_accept_flags_refuses_unknown_models_and_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, message: str
) -> None:
    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8})
    path = tmp_path / "policy.yaml"
    path.write_text(policy + "\n")
    assert check("--baseline", base, "--current", base, "--policy", path) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err


def test_gate_prints_minimum_detectable_effects_and_never_calls_untested_significant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harness.analysis.check import run_check
    from harness.analysis.check_policy import Policy

    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8})
    cur = write_synthetic_run(tmp_path / "c", models={"m1": 0.9, "m2": 0.8}, seed=3)
    report = run_check(base, cur, Policy(), configs=CONFIGS)
    assert any(
        line.startswith("top1_acc (exact McNemar") and "n=200" in line for line in report.power
    )
    top1 = next(r for r in report.rows if r.metric == "top1_acc" and r.model == "m1")
    assert top1.test == "mcnemar_exact" and top1.mde is not None and 0 < top1.mde < 0.3
    assert check("--baseline", base, "--current", cur) in (0, 1)
    assert "power: top1_acc (exact McNemar" in capsys.readouterr().out
    # a metric without interval or table: its change is not tested, so it cannot fail
    for row in report.rows:
        if row.test == "none":
            assert row.status == "pass" and "not tested" in row.reason


def test_power_line_counts_the_columns_it_says_nothing_about() -> None:
    """The quickstart baseline against itself: 30 robust_acc columns, 10 of them with no MDE
    (robust accuracy 0.000 at L-inf 0.3 cannot drop; diabetes-logreg's 0.164 at 0.1 sits
    closer to 0 than its MDE). The power line read "robust_acc (exact McNemar, 30 column(s),
    n=177-200): a change of 0.107-0.291 ... or more is caught with 80% probability", as if it
    held for all 30; it now says which share of them a pass tells nothing about."""
    from harness.analysis.check import run_check
    from harness.analysis.check_policy import Policy

    quickstart = Path(__file__).resolve().parents[2] / "results" / "baselines" / "quickstart"
    report = run_check(quickstart, quickstart, Policy(), configs=CONFIGS)
    rows = [r for r in report.rows if r.metric.startswith("robust_acc[")]
    no_mde = sum(r.mde is None for r in rows)
    assert len(rows) == 30 and no_mde == 10
    (line,) = [p for p in report.power if p.startswith("robust_acc (exact McNemar")]
    assert "30 column(s)" in line
    assert f"{no_mde} of them have no MDE: a pass says nothing about a change in them" in line


def test_no_torch_import() -> None:
    modules = (
        "harness.analysis.leaderboard, harness.analysis.check, harness.analysis.pareto, "
        "harness.analysis.stored_groups, harness.analysis.variant_deltas, harness.present.site, "
        "harness.present.leaderboard_view, harness.present.check_view, harness.present.junit, "
        "harness.present.groups_view, harness.present.variants_view, harness.cli"
    )
    code = f"import {modules}; import sys; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2]
    )


def test_a_gate_on_a_handful_of_samples_claims_no_power(tmp_path: Path) -> None:
    """On 5 samples nothing can be detected: no MDE anywhere (a class accuracy of 1.0 on one
    sample was said to be caught when it changes by 1.5, more than any fraction can move), and
    the gate passes an identical rerun without calling anything significant."""
    from harness.analysis.check import run_check
    from harness.analysis.check_policy import Policy

    spec = SPEC.replace("limit: 240", "limit: 5")
    base, cur = _run(tmp_path / "b", spec=spec), _run(tmp_path / "c", noise=1.5, spec=spec)
    report = run_check(base, cur, Policy(include="all"), configs=CONFIGS)
    assert {r.metric.split("[")[0] for r in report.rows} >= {"top1_acc", "ece", "class_acc"}
    assert all(r.mde is None for r in report.rows), [(r.metric, r.mde) for r in report.rows]
    assert all("says nothing" in line for line in report.power), report.power
    assert all(r.status == "pass" for r in report.rows if r.test != "none")


def test_a_span_of_power_values_that_print_alike_is_one_number() -> None:
    """Three columns' MDEs of 0.04340-0.04344 printed `a change of 0.0434-0.0434 fraction`."""
    from harness.analysis.check import _span

    assert _span([0.04340, 0.04344, 0.04341]) == "0.0434"
    assert _span([0.0434, 0.0436]) == "0.0434-0.0436"
    assert _span([0.5]) == "0.5"


@pytest.mark.parametrize(
    ("raw", "tested", "ci", "status", "words"),
    [
        # probe64's case: the raw ECE rose 0.0093 (within 0.01), the debiased ECE the test
        # compared rose 0.035, significantly: it passed "within tolerance though significant"
        (0.0093, 0.035, (0.015, 0.055), "fail", "significant regression beyond tolerance"),
        # the reverse: the raw ECE past the tolerance, the debiased one significantly better:
        # it failed with an interval of the change that was all improvement
        (0.02, -0.03, (-0.05, -0.01), "pass", "improved (significant)"),
        (0.02, 0.005, (-0.015, 0.025), "pass", "within tolerance (rise ≤ 0.01)"),
    ],
)
def test_an_ece_tolerance_is_judged_on_the_statistic_the_test_compared(
    monkeypatch: pytest.MonkeyPatch,
    raw: float,
    tested: float,
    ci: tuple[float, float],
    status: str,
    words: str,
) -> None:
    """Paired resampling tests the debiased ECE, whose change differs from the shown (raw)
    ECE's by up to 0.03-0.04 at n=300: the tolerance is judged on the change the test compared,
    and the row says which statistic that was."""
    from harness.analysis.check_policy import MetricRule

    found = _debiased_ece_test(tested, ci, se=0.01, reference=0.04)
    row = _ece_row(monkeypatch, found, MetricRule(max_drop=0.01, alpha=0.05), 0.05, 0.05 + raw)
    assert row.status == status, row.reason
    assert row.reason.startswith(words), row.reason
    assert f"(judged on the debiased ECE, the statistic tested: {tested:+.3g})" in row.reason


def test_a_relative_ece_tolerance_is_a_share_of_the_ece_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The debiased ECE the test compares is near 0, often below it, for a calibrated model
    (n=1000, correct ~ Bernoulli(confidence): raw 0.018, debiased -0.005): 20% of its absolute
    value was the tolerance, 0.0004 here, and a rise of 15% of the ECE shown failed a
    `max_drop_relative: 0.2` rule. The share is of the baseline's ECE as shown."""
    from harness.analysis.check_policy import MetricRule

    found = _debiased_ece_test(0.003, (0.001, 0.005), se=0.001, reference=-0.002)
    rule = MetricRule(max_drop_relative=0.2, alpha=0.05)
    row = _ece_row(monkeypatch, found, rule, 0.02, 0.023)
    assert row.status == "pass", row.reason
    assert row.reason.startswith("within tolerance (rise ≤ 20%) though significant"), row.reason


def _debiased_ece_test(diff: float, ci: tuple[float, float], *, se: float, reference: float) -> Any:
    """A paired resampling result of the debiased ECE, significant when `ci` excludes 0."""
    from harness.analysis import paired_tests

    return paired_tests.PairedResult(
        test="paired_resample",
        n=1000,
        diff=diff,
        p_value=0.0001 if ci[0] * ci[1] > 0 else 0.5,
        detail="2000 paired resamples of the debiased ECE",
        se=se,
        ci=ci,
        statistic="debiased ECE",
        df=999,
        reference=reference,
    )


def _ece_row(
    monkeypatch: pytest.MonkeyPatch, found: Any, rule: Any, baseline: float, current: float
) -> Any:
    """The gate's row for an ECE of `baseline` then `current` (n=1000) under `rule`, its test
    answering `found`."""
    from dataclasses import replace

    from harness.analysis import check, paired_tests
    from harness.core.metric_record import MetricRecord
    from harness.stats.shared_draws import SharedDraws

    monkeypatch.setattr(paired_tests, "compare_records", lambda *args, **kwargs: found)

    class Source:
        def pair(self, bm: MetricRecord, cm: MetricRecord) -> tuple[None, None]:
            return None, None

    bm = MetricRecord(
        suite="accuracy", metric="ece", value=baseline, unit="fraction", higher_is_better=False,
        n=1000,
    )  # fmt: skip
    cm = replace(bm, value=current)
    row = check.CheckRow(
        model="m",
        task="t",
        suite="accuracy",
        metric="ece",
        baseline=bm.value,
        current=cm.value,
        status="pass",
        reason="",
        higher_is_better=False,
        rule=rule,
        unit="fraction",
        n=1000,
    )
    pending = check._compare(row, bm, cm, Source(), rule, 0, SharedDraws())  # type: ignore[arg-type]
    check.decide([pending])
    return row


def _speed_run(
    out: Path, speed: dict[str, tuple[float, str]], capability: str | None = None
) -> Path:
    """A run of throughput jobs only: each model's samples/s and the CPU it was measured on
    (`capability`: the vector instructions its device record names)."""
    store = RunStore.open_for_writing(out, "speed")
    entries = []
    for model, (value, device_name) in speed.items():
        rec = job_record(model, "throughput", run_id="speed")
        record = MetricRecord(
            suite="throughput",
            metric="throughput_samples_per_s",
            value=value,
            unit="samples/s",
            higher_is_better=True,
            n=6,
            ci=(0.9 * value, 1.1 * value),
            ci_method="order-statistic interval of the median",
            headline=True,
            context={"device": "cpu", "device_name": device_name, "threads": 1},
        )
        path = store.write_job(record=rec, table=None, metrics=[record], artifacts={}, arrays={})
        entries.append(job_entry(rec, path.name))
    device = {"type": "cpu", "name": "cpu"}
    if capability is not None:
        device["cpu_capability"] = capability
    store.write_manifest(run_manifest("speed", entries, device=device))
    return store.run_dir


def test_a_gate_whose_every_metric_was_measured_on_other_hardware_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # speed measured on another machine is not gated; when that is all the gate had, it compared
    # nothing and said `PASS: 2 checks` (exit 0), a throughput 100x lower included
    base = _speed_run(tmp_path / "b", {"m1": (1000.0, "CPU A"), "m2": (2000.0, "CPU A")})
    other = _speed_run(tmp_path / "c", {"m1": (10.0, "CPU B"), "m2": (2000.0, "CPU B")})
    assert check("--baseline", base, "--current", other) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "measured on other hardware" in err and "CPU A" in err and "CPU B" in err
    # beside a metric it does compare, the gate passes and its verdict counts what it left out
    mixed = _speed_run(tmp_path / "m", {"m1": (1000.0, "CPU A"), "m2": (2000.0, "CPU B")})
    assert check("--baseline", base, "--current", mixed) == 0
    out = capsys.readouterr().out
    assert "PASS: 2 checks (1 not gated: measured on other hardware)" in out


def test_the_verdict_counts_rows_that_compared_nothing_apart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a job new in the current run passes without a comparison: the verdict said `PASS: 2
    # checks` for one comparison and one new job, as if both had been judged
    base = _speed_run(tmp_path / "b", {"m1": (1000.0, "CPU A")})
    grown = _speed_run(tmp_path / "c", {"m1": (1000.0, "CPU A"), "m2": (2000.0, "CPU A")})
    assert check("--baseline", base, "--current", grown) == 0
    out = capsys.readouterr().out
    assert "PASS: 2 checks (1 not compared: new, or failed or undefined in the baseline)" in out
    assert check("--baseline", base, "--current", grown, "--format", "md") == 0
    assert "all 2 checks passed (1 not compared: " in capsys.readouterr().out


def test_speed_on_a_cpu_of_the_same_name_with_other_vector_instructions_is_not_gated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "AMD EPYC" names machines with and without AVX512 (the device record's cpu_capability
    # tells them apart): their speeds were compared as if measured on one machine, and a
    # throughput 3x lower on the AVX2 runner failed as a significant regression
    speed = {"m1": (3000.0, "AMD EPYC"), "m2": (1000.0, "AMD EPYC")}
    base = _speed_run(tmp_path / "b", speed, "AVX512")
    slower = {"m1": (1000.0, "AMD EPYC"), "m2": (1000.0, "AMD EPYC")}
    other = _speed_run(tmp_path / "c", slower, "AVX2")
    assert check("--baseline", base, "--current", other) == 2
    err = capsys.readouterr().err
    assert "measured on other hardware" in err and "AVX512" in err and "AVX2" in err
    # the same instructions (or a record without them, from an older harness): compared
    assert check("--baseline", base, "--current", _speed_run(tmp_path / "s", slower, "AVX512")) == 1
    assert check("--baseline", base, "--current", _speed_run(tmp_path / "o", slower)) == 1


def test_tables_of_other_samples_are_named_by_model_and_file(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the error named the column only ("check/digits/top1_acc: ... 240 only in the first, 240
    # only in the second"): not which model's tables, which files, nor which run was "first"
    other = tmp_path / "other"
    shutil.copytree(runs["same"], other)
    (job,) = other.glob("jobs/*")
    table = job / "samples.parquet"
    frame = pd.read_parquet(table)
    frame["sample_id"] = "x-" + frame["sample_id"]
    frame.to_parquet(table)
    _reseal(job, "samples.parquet")
    assert check("--baseline", runs["base"], "--current", other) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: lin × digits × accuracy: ")
    assert "only in the current run" in err and "only in the baseline" in err
    assert str(table) in err


def test_a_gate_whose_baseline_values_are_all_undefined_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # every row read "undefined in the baseline; not compared" and the gate said `PASS: 3 checks`
    # (exit 0): it compared nothing, as a gate whose baseline jobs all failed (refused)
    base = _undefined_copy(runs["base"], tmp_path / "undefined")
    assert check("--baseline", base, "--current", runs["bad"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "undefined in the baseline" in err and "lin × top1_acc" in err
    # a floor is judged on the current value alone: with one, the gate checks something
    policy = tmp_path / "floor.yaml"
    policy.write_text("metrics:\n  top1_acc: {floor: 0.5}\n")
    assert check("--baseline", base, "--current", runs["bad"], "--policy", policy) == 1
    assert "below the floor 0.5 (undefined in the baseline)" in capsys.readouterr().out


def test_a_floor_on_values_undefined_in_both_runs_checks_nothing(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a floor is judged on the current value; with none there either, the row judged nothing,
    # and a gate of such rows said `PASS: 3 checks` (exit 0) instead of refusing
    folders = [_undefined_copy(runs["base"], tmp_path / f"undefined{i}") for i in range(2)]
    policy = tmp_path / "floor.yaml"
    policy.write_text("metrics:\n  top1_acc: {floor: 0.5}\n")
    assert check("--baseline", folders[0], "--current", folders[1], "--policy", policy) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "undefined in the baseline" in err


def _undefined_copy(run: Path, folder: Path) -> Path:
    """A copy of the one-job `run` in `folder` whose every stored value and interval is
    undefined (re-sealed)."""
    shutil.copytree(run, folder)
    (job,) = folder.glob("jobs/*")
    records = json.loads((job / "metrics.json").read_text())
    for r in records:
        r["value"], r["ci"] = None, None
    (job / "metrics.json").write_text(json.dumps(records))
    _reseal(job, "metrics.json")
    return folder


def _reseal(job: Path, name: str) -> None:
    """Record the edited file `name`'s digest in the job's record, sealed again (as an edit
    that passes the store's checksums)."""
    record = json.loads((job / "job.json").read_text())
    record["files"][name] = file_sha256(job / name)
    (job / "job.json").write_text(json.dumps(seal(record)))


@pytest.mark.parametrize(
    ("condition", "context"),
    [
        ("clean", {}),
        ("clean", {"eps": 0.03, "attack": "pgd", "bins": 15, "note": "x"}),
        ("corruption=fog/severity=3", {"severity": 3, "suite": "other"}),
        ("ood=svhn", {"detector": "msp"}),
    ],
)
def test_a_suite_column_is_the_key_of_the_record_with_its_suite_in_its_context(
    condition: str, context: dict[str, Any]
) -> None:
    """`suite_column` builds no record (no validation per call): the same key as the record
    with the suite put in its context."""
    from dataclasses import replace

    from harness.analysis.check import suite_column

    m = MetricRecord(
        suite="shift",
        metric="clean_acc",
        value=0.5,
        unit="fraction",
        higher_is_better=True,
        n=10,
        condition=condition,
        context=context,
    )
    assert suite_column(m) == replace(m, context={**m.context, "suite": m.suite}).key
    assert m.key_with(m.context) == m.key


def test_a_gates_rules_are_the_policys_made_once_per_column() -> None:
    """`_rule_for` gives what `Policy.rule_for` gives, made once per policy and column (the same
    object again), and another policy's own rules after it."""
    from harness.analysis.check import _rule_for
    from harness.analysis.check_policy import load_policy

    root = Path(__file__).resolve().parents[2]
    policies = [load_policy(None), load_policy(root / "results/baselines/quickstart-policy.yaml")]
    columns = [
        ("top1_acc", "top1_acc", "fraction", "top1_acc[suite=accuracy]"),
        ("ece", "ece", "fraction", "ece[suite=accuracy]"),
        ("nll", "nll", "nats", "nll[suite=accuracy]"),
        ("clean_acc", "clean_acc", "fraction", "clean_acc[suite=shift]"),
    ]
    for _ in range(2):
        for policy in policies:
            for column in columns:
                got = _rule_for(policy, *column)
                assert got == policy.rule_for(*column)
                assert _rule_for(policy, *column) is got


@pytest.mark.parametrize(
    ("metric", "higher_is_better", "value", "bound", "word"),
    [
        ("ood_auroc", True, 0.95, 0.9, "floor"),
        # a lower-is-better metric's floor is the ceiling the gate's rows call it (it said
        # "floor 0.3 on ood_fpr_at_95_tpr[...]")
        ("ood_fpr_at_95_tpr", False, 0.2, 0.3, "ceiling"),
    ],
)
def test_a_floor_some_models_lack_the_metric_for_is_said_not_passed_in_silence(
    metric: str,
    higher_is_better: bool,
    value: float,
    bound: float,
    word: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A floor on a detector's AUROC where one model has no such record in either run (ODIN left
    out: its outputs give the input no gradient) cannot hold that model: nothing was lost between
    the runs, so it does not fail, but the gate says which models the floor did not check (it
    printed "PASS: 6 checks" and nothing of the model the policy reads as held)."""
    odin = MetricRecord(
        suite="shift",
        metric=metric,
        context={"score": "odin", "ood": "noise"},
        value=value,
        unit="fraction",
        higher_is_better=higher_is_better,
        n=400,
        ci=(value - 0.02, value + 0.02),
        ci_method="Wilson, 95%",
    )
    more = {("m1", "shift"): [odin]}
    base = write_synthetic_run(tmp_path / "b", models={"m1": 0.9, "m2": 0.8}, more=more)
    cur = write_synthetic_run(tmp_path / "c", models={"m1": 0.9, "m2": 0.8}, more=more)
    policy = tmp_path / "floor.yaml"
    policy.write_text(f"metrics:\n  {metric}[ood=noise,score=odin]: {{floor: {bound}}}\n")
    assert check("--baseline", base, "--current", cur, "--policy", policy) == 0
    out = capsys.readouterr().out
    said = f"{word} {bound} on {metric}[ood=noise,score=odin] checked no value of model 'm2'"
    assert re.search(
        re.escape(said) + r" \(task \S+, suite shift\): neither run has that metric for it", out
    ), out
    assert "model 'm1'" not in out.split(f"{word} {bound} on", 1)[1].split("\n", 1)[0]
