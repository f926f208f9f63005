"""Per-job time limits: a job that runs over (even stuck in C code) is stopped, recorded as failed
with the reason, and the run goes on; a worker process that dies fails only its job."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.config.spec import RunSpec, parse_duration
from harness.core.errors import SpecError
from harness.store.run_store import load_jobs

SPEC = """
name: limits
device: cpu
limit: 40
batch_size: 20
bootstrap_resamples: 0
timeout: {timeout}
tasks: [digits]
models:
  - name: hangs
    factory: tests.fixture_models:hanging_digits
    input_shape: [1, 8, 8]
  - name: exits
    factory: tests.fixture_models:process_exiting_digits
    input_shape: [1, 8, 8]
  - name: fine
    factory: tests.fixture_models:linear_digits
    weights: linear.safetensors
    input_shape: [1, 8, 8]
suites:
  accuracy: {{}}
"""


@pytest.mark.slow  # waits out job time limits (make test-slow; CI runs it)
def test_hung_and_dying_jobs_fail_alone_and_the_run_goes_on(
    write_spec: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write_spec(SPEC.format(timeout="3s"))
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    jobs = {j["model"]: j for j in manifest["jobs"]}
    assert jobs["hangs"]["status"] == "failed"
    assert jobs["hangs"]["message"].startswith("timed out: the job ran longer than its time limit")
    assert "3 s" in jobs["hangs"]["message"]
    assert jobs["exits"]["status"] == "failed"
    assert "worker process running the job died (exit code 3)" in jobs["exits"]["message"]
    assert jobs["fine"]["status"] == "completed"
    assert manifest["status"] == "failed"
    assert manifest["execution"]["job_timeout_s"] == 3.0
    assert manifest["attempts"][-1]["executor"] == "local-process"
    assert "error: job hangs × digits × accuracy failed: timed out" in err
    # the job that ran in a worker gives the same table as one run in the driver
    (fine,) = [j for _, j in load_jobs(out) if j.record.model == "fine"]
    direct = tmp_path / "direct"
    assert main(["run", str(spec), "--out", str(direct), "--models", "fine"]) == 0
    (same,) = [j for _, j in load_jobs(direct)]
    assert same.record.key == fine.record.key
    assert same.table().frame.equals(fine.table().frame)


def test_durations_in_the_spec_and_on_the_command_line(
    write_spec: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_duration("10m") == 600.0 and parse_duration("1.5h") == 5400.0
    assert parse_duration("90") == 90.0 and parse_duration("45s") == 45.0
    base = {"tasks": ["digits"], "models": ["digits-mlp"], "suites": {"accuracy": {}}}
    assert RunSpec.model_validate({**base, "timeout": "2m"}).timeout == 120.0
    timed = RunSpec.model_validate({**base, "timeout": 30, "threads": 1})
    assert timed.spec_hash() == RunSpec.model_validate(base).spec_hash()  # how, not what
    spec = write_spec(SPEC.format(timeout="soon"))
    assert main(["validate", str(spec)]) == 2
    assert "timeout" in capsys.readouterr().err
    assert main(["run", str(spec), "--job-timeout", "-5"]) == 2  # one line, as from the spec
    assert "a duration must be positive" in capsys.readouterr().err


def test_spec_error_names_the_timeout_key(write_spec: Callable[[str], Path]) -> None:
    from harness.config.spec import load_spec

    with pytest.raises(SpecError, match="timeout"):
        load_spec(write_spec(SPEC.format(timeout="0")))


EDITING_MODEL = """\
import numpy as np


def make(data):
    def predict(x):
        with open(data) as f:  # the first batch: someone edits the task's file meanwhile
            text = f.read()
        if ",A," in text:
            with open(data, "w") as f:
                f.write(text.replace(",A,", ",Q,"))
        z = (np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, 0] - 0.5) * 8
        return np.stack([-z, z], 1)

    return predict
"""


@pytest.mark.slow  # a job time limit forks a worker that imports torch (make test-slow)
def test_task_data_edited_while_its_job_runs_in_a_worker_is_not_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a time limit the job reads the task in its worker, and the driver read the task's file
    again to store the job: an edit in between stored the new file's group values beside the
    predictions on the old rows (a group 'Q' the job never saw), under the old data's key."""
    rows = [f"{i / 40:.3f},{'AB'[i % 2]},{int(i >= 20)}" for i in range(40)]
    data = tmp_path / "g.csv"
    data.write_text("a,g,label\n" + "\n".join(rows) + "\n")
    (tmp_path / "p100_editing_model.py").write_text(EDITING_MODEL)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: edited\ndevice: cpu\nbootstrap_resamples: 0\nbatch_size: 8\ntimeout: 10m\n"
        "tasks: [{name: t, modality: tabular, source: g.csv, group_columns: [g]}]\n"
        "suites: {accuracy: {}}\nmodels:\n"
        "  - {name: m, adapter: callable, callable: 'p100_editing_model:make', factory: true,\n"
        f"     args: {{data: '{data}'}}, outputs: logits}}\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "task 't' changed during the run" in err and "Traceback" not in err
    assert not list(out.glob("runs/*/jobs/m--*"))
