"""Exceptions and signals tell the truth: any BaseException from a model's factory or forward
(KeyboardInterrupt, SystemExit, GeneratorExit, a custom subclass) is that model's failed job and
the run goes on to finish its manifest; only a signal the process really received interrupts the
run, with one line, the job in flight absent and the signal's exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli.main import main

HOSTILE = "tests.reliability.hostile.hostile_code"
RAISED = ["KeyboardInterrupt", "SystemExit", "GeneratorExit", "CustomStop"]
GOOD = "{name: good, factory: 'tests.fixture_models:linear_digits', input_shape: [1, 8, 8]}"


def _model(name: str, factory: str, **args: Any) -> str:
    return (
        f"  - {{name: {name}, factory: '{HOSTILE}:{factory}', factory_args: {json.dumps(args)}, "
        "input_shape: [1, 8, 8]}\n"
    )


def _run(tmp_path: Path, models: str, suites: str) -> tuple[int, dict[str, Any], str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: stops\ndevice: cpu\nlimit: 20\nbatch_size: 10\nbootstrap_resamples: 0\n"
        f"tasks: [digits]\nmodels:\n{models}  - {GOOD}\nsuites: {suites}\n"
    )
    out = tmp_path / "out"
    code = main(["run", str(spec), "--out", str(out)])
    (run_dir,) = (out / "runs").iterdir()
    return code, json.loads((run_dir / "manifest.json").read_text()), str(out)


def _assert_one_line_each(err: str, failed: int) -> None:
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == failed


def test_every_base_exception_from_a_factory_or_forward_is_that_models_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = "".join(_model(f"fwd-{w}", "raising_forward", what=w) for w in RAISED)
    models += "".join(_model(f"build-{w}", "raising_factory", what=w) for w in RAISED)
    code, manifest, _ = _run(tmp_path, models, "{accuracy: {}}")
    err = capsys.readouterr().err
    assert code == 1
    assert manifest["status"] == "failed" and "interrupted_by" not in manifest
    jobs = {j["model"]: j for j in manifest["jobs"]}
    assert jobs["good"]["status"] == "completed"  # the run went on past every failure
    for what in RAISED:
        for model in (f"fwd-{what}", f"build-{what}"):
            job = jobs[model]
            assert job["status"] == "failed", model
            assert f"model '{model}'" in job["message"]
            named = "sys.exit(" if what == "SystemExit" else what
            assert named in job["message"], job["message"]
    assert "during its forward pass on task 'digits'" in jobs["fwd-KeyboardInterrupt"]["message"]
    assert "during the call of its factory" in jobs["build-GeneratorExit"]["message"]
    _assert_one_line_each(err, failed=8)


def test_a_base_exception_from_a_module_call_fails_its_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The throughput suite times `module()` directly, outside the checked `logits` calls: the
    model passes the probe and raises KeyboardInterrupt on its next forward."""
    models = _model("timed", "raising_forward", what="KeyboardInterrupt", after=1)
    suites = "{throughput: {batch_sizes: [1], warmup_iters: 1, timed_iters: 2}}"
    code, manifest, _ = _run(tmp_path, models, suites)
    err = capsys.readouterr().err
    assert code == 1 and manifest["status"] == "failed"
    jobs = {j["model"]: j for j in manifest["jobs"]}
    assert jobs["good"]["status"] == "completed"
    message = jobs["timed"]["message"]
    assert "KeyboardInterrupt was raised while running timed × digits × throughput" in message
    assert "no signal reached the process" in message
    _assert_one_line_each(err, failed=1)


@pytest.mark.parametrize(
    ("signal_name", "then", "code"), [("SIGTERM", "raise", 143), ("SIGINT", "return", 130)]
)
def test_a_real_signal_inside_a_c_callback_interrupts_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signal_name: str, then: str, code: int
) -> None:
    """Python swallows the handler's exception inside the ctypes callback ("Exception ignored
    ..."); the model then raises (as a C library reporting its callback's failure) or returns.
    Either way: one line, no traceback, the job in flight absent, not recorded as failed."""
    models = _model("sig", "signal_in_c_callback", signal_name=signal_name, then=then)
    got, manifest, _ = _run(tmp_path, models, "{accuracy: {}}")
    err = capsys.readouterr().err
    assert got == code
    assert manifest["status"] == "interrupted"
    assert manifest["interrupted_by"] == signal_name
    assert manifest["jobs"] == []  # the job in flight is absent: it reruns on resume
    assert "Traceback" not in err and "Exception ignored" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: run interrupted by {signal_name}; rerun the same command to resume "
        "(finished jobs are kept)"
    ]
