"""End-to-end CLI tests of `harness run`, `validate` and `leaderboard` on tiny fixture models."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.cli.main import main
from harness.store.run_store import load_jobs


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {
        f"{j.record.model}/{j.record.suite}": j.table().to_pandas()
        for _, j in load_jobs(out)
        if j.status == "completed"
    }


def test_run_writes_results_and_prints_the_headline(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli("run", tiny_spec, "--out", out, "--width", "0") == 0
    captured = capsys.readouterr()
    assert "digits (n = 120)" in captured.out and "clean accuracy:" in captured.out
    assert "lin-a" in captured.out and "harness leaderboard" in captured.out
    run_dirs = list((out / "runs").iterdir())
    assert len(run_dirs) == 1
    manifest = json.loads((run_dirs[0] / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["seed"] == 3
    assert {j["status"] for j in manifest["jobs"]} == {"completed"}
    assert manifest["versions"]["torch"] and manifest["versions"]["foolbox"] == "3.3.4"
    frames = tables(out)
    assert set(frames) == {"lin-a/accuracy", "lin-b/accuracy"}
    frame = frames["lin-a/accuracy"]
    assert len(frame) == 120 and frame["sample_id"].is_unique
    jobs = [j for _, j in load_jobs(out)]
    assert all(len(j.record.model_description.weights_sha256 or "") == 64 for j in jobs)


def test_rerun_skips_completed_jobs(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert run_cli("run", tiny_spec, "--out", out) == 0
    first = tables(out)
    capsys.readouterr()
    assert run_cli("run", tiny_spec, "--out", out) == 0
    err = capsys.readouterr().err
    assert err.count("cached (same key; skipped)") == 2
    second = tables(out)
    for key in first:
        pd.testing.assert_frame_equal(first[key], second[key])


def test_same_seed_gives_identical_tables_and_metrics(tiny_spec: Path, tmp_path: Path) -> None:
    assert run_cli("run", tiny_spec, "--out", tmp_path / "a") == 0
    assert run_cli("run", tiny_spec, "--out", tmp_path / "b") == 0
    a, b = tables(tmp_path / "a"), tables(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key])
    ma = {(j.record.model, m.key): m for _, j in load_jobs(tmp_path / "a") for m in j.metrics}
    mb = {(j.record.model, m.key): m for _, j in load_jobs(tmp_path / "b") for m in j.metrics}
    assert ma == mb


def test_validate_lists_jobs(tiny_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("validate", tiny_spec) == 0
    out = capsys.readouterr().out
    assert "valid — 2 jobs" in out and "lin-b × digits × accuracy" in out


def test_validate_says_what_the_adversarial_suite_will_run_and_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lines `harness run` prints before its first job (what each task gets, its
    worst-case cost): a user checking a costly spec sees them without starting it."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: t\ntasks: [digits]\nmodels: [digits-mlp]\n"
        "suites: {accuracy: {}, adversarial: {preset: fast}}\n"
    )
    assert run_cli("validate", spec, "--width", "0") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[3].startswith("adversarial: preset fast (linf_apgd_ce, linf_apgd_t, linf_square;")
    # the cost and the escalation's continue the line above, indented under it
    assert out[4].startswith("  cost per model and task: up to 120 gradient ")
    assert out[5].startswith("  a masking flag adds up to 3 escalation round(s)")


def test_filters_select_models(tiny_spec: Path, tmp_path: Path) -> None:
    assert run_cli("run", tiny_spec, "--out", tmp_path, "--models", "lin-b", "--limit", "50") == 0
    assert set(tables(tmp_path)) == {"lin-b/accuracy"}


def test_leaderboard_json_contract(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("run", tiny_spec, "--out", tmp_path) == 0
    capsys.readouterr()
    assert run_cli("leaderboard", tmp_path, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2
    for row in rows:
        assert row["task"] == "digits" and row["model"] in {"lin-a", "lin-b"}
        assert 0.0 <= row["top1_acc"] <= 1.0
        lo, hi = row["top1_acc_ci"]
        assert lo <= row["top1_acc"] <= hi
        assert row["top1_acc_n"] == 120
        assert "ece" in row and "ece_ci" in row
    assert [r["position"] for r in rows] == [1, 2]
    assert rows[0]["top1_acc"] >= rows[1]["top1_acc"]


@pytest.mark.parametrize("fmt", ["table", "md", "csv"])
def test_leaderboard_formats(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    assert run_cli("run", tiny_spec, "--out", tmp_path) == 0
    capsys.readouterr()
    assert run_cli("leaderboard", tmp_path, "--format", fmt) == 0
    out = capsys.readouterr().out
    assert "lin-a" in out and "top1_acc" in out


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for what, expected in [
        ("tasks", "digits"),
        ("suites", "accuracy"),
        ("adapters", "torch"),
        ("models", "digits-cnn"),
    ]:
        assert run_cli("list", what) == 0
        out = capsys.readouterr().out
        assert expected in out and "builtin" in out or "zoo" in out


def test_overrides_keep_zoo_references_with_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--device`/`--seed` overrides must not turn `{name: zoo-model, variants: [...]}` into an inline model."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "tasks: [diabetes]\nmodels:\n  - {name: diabetes-logreg, variants: [fp16]}\n"
        "suites: {accuracy: {}}\nbootstrap_resamples: 10\n"
    )
    assert run_cli("validate", spec) == 0
    assert run_cli("run", spec, "--out", tmp_path / "o", "--device", "cpu", "--seed", "2") == 0
    assert "diabetes-logreg@fp16" in capsys.readouterr().out


def test_zoo_model_mapping_with_tasks_only(tmp_path: Path) -> None:
    """`{name: <zoo model>, tasks: [...]}` narrows a zoo model; it is not an inline model."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "tasks: [digits, diabetes]\nmodels:\n  - {name: diabetes-logreg, tasks: [diabetes]}\n"
        "suites: {accuracy: {}}\nbootstrap_resamples: 10\n"
    )
    assert run_cli("validate", spec) == 0


def test_list_suites_shows_each_suite_version(capsys: pytest.CaptureFixture[str]) -> None:
    """The version a suite's jobs and boards carry (a new one reruns cached jobs), read from
    the source without importing the suite, equals the class's own attribute."""
    from harness.core.registry import load_target
    from harness.run.plugins import suite_registry

    assert run_cli("list", "suites", "--width", "0") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["name", "version", "origin"]
    shown = {line.split()[0]: line.split()[1] for line in lines[1:]}
    reg = suite_registry()
    assert set(shown) == set(reg.names())
    for name in reg.names():
        assert shown[name] == str(load_target(reg.entry(name).target).version)


def test_the_plan_line_counts_in_words(
    tiny_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-model spec's run began "harness: 1 jobs (1 models × 1 tasks × 1 suites)"."""
    assert run_cli("run", tiny_spec, "--out", tmp_path / "one", "--models", "lin-a") == 0
    assert "harness: 1 job (1 model × 1 task × 1 suite) from" in capsys.readouterr().err
    assert run_cli("run", tiny_spec, "--out", tmp_path / "two") == 0
    assert "harness: 2 jobs (2 models × 1 task × 1 suite) from" in capsys.readouterr().err
