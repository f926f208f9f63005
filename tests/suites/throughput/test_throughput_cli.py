"""The throughput suite through the CLI: a stored run without a sample table, and bad devices."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from harness.cli.main import main
from harness.store.run_store import load_jobs

SPEC = """\
name: tput
seed: 0
device: {device}
limit: 40
bootstrap_resamples: 50
tasks: [digits]
models:
  - name: lin
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
suites:
  throughput: {{batch_sizes: [2, 8], warmup_iters: 1, timed_iters: 3}}
"""


def test_run_stores_throughput_without_a_table(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC.format(device="cpu"))
    out = spec.parent / "results"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    ((_, job),) = load_jobs(out)
    assert job.status == "completed"
    keys = {m.key for m in job.metrics if m.headline}
    assert any(k.startswith("throughput_samples_per_s[batch_size=8,") for k in keys)
    assert job.artifacts()["measurement"]["conditions"][0]["status"] == "ok"
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--format", "csv"]) == 0
    assert "throughput_samples_per_s" in capsys.readouterr().out


def test_cuda_on_a_cpu_machine_is_a_clear_error(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    spec = write_spec(SPEC.format(device="cuda"))
    assert main(["run", str(spec), "--out", str(spec.parent / "o")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "CUDA is not available" in err


def test_bad_batch_size_in_a_spec_names_the_key(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC.format(device="cpu").replace("[2, 8]", "[0, 8]"))
    assert main(["validate", str(spec)]) == 2
    assert "suites.throughput.batch_sizes" in capsys.readouterr().err


def test_a_model_that_takes_one_sample_per_call_runs_at_batch_size_one(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`batch_size: 1` for a model that takes one sample per call: every job failed anyway
    ("model 'one' raised RuntimeError during its forward pass on task 'digits': ..."), because
    the check forward before each suite sent 2 inputs, and the throughput suite lost its batch-1
    numbers to the failure at batch size 4. Now both jobs complete: batch 1 measured, batch 4 an
    `error` condition that names it."""
    spec = write_spec(
        SPEC.format(device="cpu")
        .replace("limit: 40", "limit: 40\nbatch_size: 1")
        .replace(
            "factory: tests.fixture_models:linear_digits",
            "factory: tests.suites.throughput.planted_models:one_at_a_time_digits",
        )  # fmt: skip
        .replace("    weights: linear.safetensors\n", "")
        .replace("[2, 8]", "[1, 4]")
        .replace("suites:\n", "suites:\n  accuracy: {}\n")
    )
    out = spec.parent / "results-one"
    assert main(["run", str(spec), "--out", str(out)]) == 0, capsys.readouterr()
    jobs = [job for _, job in load_jobs(out)]
    assert len(jobs) == 2 and {j.status for j in jobs} == {"completed"}
    (tput,) = [j for j in jobs if j.record.suite == "throughput"]
    conditions = tput.artifacts()["measurement"]["conditions"]
    assert [(c["batch_size"], c["status"]) for c in conditions] == [(1, "ok"), (4, "error")]
    assert conditions[1]["reason"].startswith("the model failed at batch size 4: RuntimeError")


def test_a_config_with_nothing_measurable_here_fails_naming_the_key(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`precisions: [fp16]` on a CPU skips every condition: the job had completed with no
    timing at all, its only trace a note in job.json (exit 0, nothing on the board)."""
    if torch.cuda.is_available():
        pytest.skip("fp16 runs on CUDA")
    text = SPEC.format(device="cpu").replace(
        "timed_iters: 3}", "timed_iters: 3, precisions: [fp16]}"
    )
    spec = write_spec(text)
    out = spec.parent / "results"
    assert main(["run", str(spec), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "suites.throughput: nothing to measure" in err
    assert "fp16 autocast on CPU is emulated" in err
    assert "Traceback" not in err
