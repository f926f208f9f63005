"""The gate fails closed: for every headline metric of a run, a baseline or a current run that
lacks it is a failing row (exit 1) unless the policy ignores the metric; a stored fraction
outside [0, 1] or outside its own interval is refused as damaged (exit 2, one line naming the
file and the record), whichever run holds it.

The first case is the one reported: the baseline's `top1_acc` record removed and the job folder
resealed with the project's own checksums, and `harness check` said PASS.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.store.checksums import seal
from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli, edit_metrics, one_error_line

MODELS = {"m1": 0.9, "m2": 0.8}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_run(tmp_path_factory.mktemp("hostile-gate") / "results", models=MODELS)


def _headline(run: Path) -> list[tuple[str, str]]:
    """(job folder name, metric key) of every headline record of model m1 (hardware-bound
    throughput metrics included: the synthetic run names no device)."""
    out = []
    for job in sorted((run / "jobs").iterdir()):
        if not job.name.startswith("m1--"):
            continue
        for record in json.loads((job / "metrics.json").read_text()):
            if record.get("headline"):
                out.append((job.name, _key(record)))
    return out


def _key(record: dict[str, Any]) -> str:
    from harness.core.metric_record import MetricRecord

    return MetricRecord.from_dict(record).key


def _without(key: str) -> Any:
    return lambda records: [r for r in records if _key(r) != key]


def _copy(pristine: Path, dest: Path) -> Path:
    shutil.copytree(pristine, dest)
    return dest


def _cases() -> list[tuple[str, str, str]]:
    """(side, job name suffix, metric key) for each headline metric, in both directions; the
    names come from a run written at collection time (cheap: no model runs)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        run = write_synthetic_run(Path(tmp) / "results", models=MODELS)
        return [(side, job, key) for job, key in _headline(run) for side in ("baseline", "current")]


CASES = _cases()


@pytest.mark.parametrize(
    ("side", "job", "key"), CASES, ids=[f"{s}-lacks-{k}-{j.split('--')[2]}" for s, j, k in CASES]
)
def test_a_metric_one_run_lacks_fails_the_gate(
    side: str, job: str, key: str, pristine: Path, tmp_path: Path
) -> None:
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    edit_metrics((base if side == "baseline" else cur) / "jobs" / job, _without(key))
    code, out, err = cli("check", "--width", "0", "--baseline", base, "--current", cur)
    assert code == 1, (out, err)
    row = next(line for line in out.splitlines() if line.startswith("FAIL") and key in line)
    other = "current run" if side == "current" else "baseline"
    assert f"metric missing from the {other}" in row, row
    ignore = tmp_path / "ignore.yaml"
    ignore.write_text(f"metrics:\n  {key.split('[')[0]}: {{ignore: true}}\n")  # m2 still has it
    code, out, err = cli(
        "check", "--width", "0", "--baseline", base, "--current", cur, "--policy", ignore
    )
    assert code == 0, (out, err)


DAMAGE = {
    # what a resealed edit does to record 0 of m1's accuracy metrics (top1_acc, Wilson-style
    # interval replaced), and the words the refusal holds
    "above-one": ({"value": 1.2}, "a fraction outside [0, 1]"),
    "below-zero": ({"value": -0.01}, "a fraction outside [0, 1]"),
    "outside-its-interval": (
        {"value": 0.5, "ci": [0.6, 0.7], "ci_method": "Wilson score interval, 95%"},
        "outside its own interval [0.6, 0.7]",
    ),
    "interval-above-value": (
        {"value": 0.95, "ci": [0.1, 0.2], "ci_method": "Newcombe"},
        "outside its own interval [0.1, 0.2]",
    ),
}
DAMAGE_CASES = [(case, side) for case in DAMAGE for side in ("baseline", "current")]


@pytest.mark.parametrize(("case", "side"), DAMAGE_CASES, ids=[f"{c}-{s}" for c, s in DAMAGE_CASES])
def test_an_impossible_stored_fraction_is_refused_as_damage(
    case: str, side: str, pristine: Path, tmp_path: Path
) -> None:
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    change, words = DAMAGE[case]
    job = next(((base if side == "baseline" else cur) / "jobs").glob("m1--*--accuracy--*"))
    edit_metrics(job, lambda records: [dict(records[0], **change), *records[1:]])
    code, _out, err = cli("check", "--width", "0", "--baseline", base, "--current", cur)
    line = one_error_line(err)
    assert code == 2 and words in line and str(job / "metrics.json") in line, line
    assert "record 0 ('top1_acc')" in line
    for command in ("leaderboard", "groups", "variants"):  # every reader fails closed
        code, _out, err = cli(command, base if side == "baseline" else cur)
        assert code == 2 and words in one_error_line(err)


def test_a_percentile_bootstrap_interval_may_miss_its_estimate(
    pristine: Path, tmp_path: Path
) -> None:
    """ECE is biased upward: a well-calibrated model's estimate can lie below its bootstrap
    interval (3 of 40 seeded simulations at n=1000), so such a record is no damage."""
    cur = _copy(pristine, tmp_path / "cur")
    job = next((cur / "jobs").glob("m1--*--accuracy--*"))

    def below(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            dict(r, value=0.018, ci=[0.020, 0.054], ci_method="percentile bootstrap, 95%")
            if r["metric"] == "ece"
            else r
            for r in records
        ]

    edit_metrics(job, below)
    code, _out, err = cli("leaderboard", cur)
    assert code == 0, err


def _fail_job_in_manifest(run: Path, job: str) -> None:
    """Record the job as failed in the run's manifest, resealed (the job's folder stays)."""
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["jobs"]:
        if entry["dir"] == job:
            entry.update(status="failed", message="RuntimeError: out of memory", dir=None, key=None)
    path.write_text(json.dumps(seal(manifest), indent=2, sort_keys=True))


def _skip_job(run: Path, job: Path) -> None:
    """Record the job as skipped (no metrics), in its job.json and the manifest, resealed."""
    edit_metrics(job, lambda records: [])
    record = json.loads((job / "job.json").read_text())
    record.update(status="skipped", reason="the suite does not apply")
    (job / "job.json").write_text(json.dumps(seal(record), indent=2, sort_keys=True))
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["jobs"]:
        if entry["dir"] == job.name:
            entry["status"] = "skipped"
    path.write_text(json.dumps(seal(manifest), indent=2, sort_keys=True))


@pytest.mark.parametrize("baseline_has", ["undefined-value", "failed-job", "skipped-job"])
def test_a_floor_fails_on_the_current_value_when_the_baseline_has_none(
    baseline_has: str, pristine: Path, tmp_path: Path
) -> None:
    """`A floor fails on the current value alone` (docs/ci-gate.md): also when the baseline's
    value is undefined or its job failed or was skipped, so that there is nothing to compare
    with (a job the baseline skipped and the current run completed was not checked at all)."""
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    job = next((base / "jobs").glob("m1--*--accuracy--*"))
    if baseline_has == "undefined-value":
        edit_metrics(job, lambda records: [dict(records[0], value=None, ci=None), *records[1:]])
    elif baseline_has == "failed-job":
        _fail_job_in_manifest(base, job.name)
    else:
        _skip_job(base, job)
    policy = tmp_path / "floor.yaml"
    policy.write_text("metrics:\n  throughput_samples_per_s: {ignore: true}\n")
    args = ["check", "--width", "0", "--baseline", base, "--current", cur, "--policy", policy]
    code, out, err = cli(*args)
    assert code == 0, (out, err)  # m1's top1_acc 0.85 is not compared, m2's is unchanged
    policy.write_text(
        "metrics:\n  throughput_samples_per_s: {ignore: true}\n  top1_acc: {floor: 0.95}\n"
    )
    code, out, err = cli(*args)
    assert code == 1, (out, err)
    rows = [line for line in out.splitlines() if line.startswith("FAIL") and "top1_acc" in line]
    m1 = [row for row in rows if row.split()[1] == "m1"]
    assert len(m1) == 1 and "below the floor 0.95" in m1[0], rows


def test_a_gate_that_would_check_nothing_is_refused(pristine: Path, tmp_path: Path) -> None:
    """`PASS: 0 checks` vouches for nothing: a policy that ignores every metric, or a baseline
    whose every job failed, is unusable input (exit 2, one line saying why), not a pass."""
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    policy = tmp_path / "ignore-all.yaml"
    policy.write_text("default: {ignore: true}\n")
    code, _out, err = cli("check", "--baseline", base, "--current", cur, "--policy", policy)
    line = one_error_line(err)
    assert code == 2 and f"policy {policy}: ignores every metric" in line, line
    policy.write_text("default: {ignore: true}\nmetrics:\n  top1_acc: {ignore: false}\n")
    code, out, err = cli("check", "--baseline", base, "--current", cur, "--policy", policy)
    assert code == 0 and "PASS: 2 checks" in out, (out, err)
    for job in sorted((base / "jobs").iterdir()):
        _fail_job_in_manifest(base, job.name)
    code, _out, err = cli("check", "--baseline", base, "--current", cur)
    line = one_error_line(err)
    assert code == 2 and f"baseline run {base} holds no metric the gate can check" in line, line


def test_a_policy_rule_that_would_silently_do_nothing_is_refused_or_applied(
    pristine: Path, tmp_path: Path
) -> None:
    """`ignore: true` beside a floor would drop the floor without a word: refused, naming the
    metric. A metric named on its own under `default: {ignore: true}` is checked by its rule
    (the default's ignore leaves out only the metrics the policy does not name)."""
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    policy = tmp_path / "gate.yaml"
    policy.write_text("metrics:\n  top1_acc: {floor: 0.5, ignore: true}\n")
    code, _out, err = cli("check", "--baseline", base, "--current", cur, "--policy", policy)
    line = one_error_line(err)
    assert code == 2 and "top1_acc says ignore: true" in line and "floor" in line, line
    policy.write_text("default: {ignore: true}\nmetrics:\n  top1_acc: {floor: 0.99}\n")
    args = ("check", "--baseline", base, "--current", cur, "--policy", policy, "--width", "0")
    code, out, err = cli(*args)
    assert code == 1 and "below the floor 0.99" in out, (out, err)


def _renamed(old: str, new: str) -> Any:
    return lambda records: [{**r, "metric": new} if r["metric"] == old else r for r in records]


def test_a_renamed_metric_fails_both_ways_with_a_hint_that_it_is_one_rename(
    pristine: Path, tmp_path: Path
) -> None:
    """`top1_acc` renamed `top1_accuracy` in the current run: the gate failed the vanished and
    the new metric as two unrelated findings. It still fails both (never a pass on a vanished
    metric), and says they are probably one rename."""
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    job = next(j for j, k in _headline(cur) if k == "top1_acc")
    edit_metrics(cur / "jobs" / job, _renamed("top1_acc", "top1_accuracy"))
    code, out, err = cli("check", "--width", "0", "--baseline", base, "--current", cur)
    assert code == 1, (out, err)
    rows = [line for line in out.splitlines() if line.startswith("FAIL") and "m1" in line]
    gone = next(line for line in rows if "top1_acc " in line and "missing from the current" in line)
    assert "probably renamed: top1_accuracy is new in the current run" in gone, gone
    new = next(line for line in rows if "missing from the baseline" in line)
    assert "probably renamed: top1_acc vanished from the current run" in new, new
    hint = "hint: m1 × digits × accuracy: top1_acc (baseline) and top1_accuracy (current) are"
    assert hint in out, out
    code, md, _ = cli("check", "--format", "md", "--baseline", base, "--current", cur)
    assert code == 1 and hint in md


def test_an_unrelated_new_metric_gets_no_rename_hint(pristine: Path, tmp_path: Path) -> None:
    base, cur = _copy(pristine, tmp_path / "base"), _copy(pristine, tmp_path / "cur")
    job = next(j for j, k in _headline(cur) if k == "top1_acc")
    edit_metrics(cur / "jobs" / job, _renamed("top1_acc", "latency_spread"))
    code, out, _ = cli("check", "--width", "0", "--baseline", base, "--current", cur)
    assert code == 1 and "missing from the baseline" in out and "renamed" not in out, out
