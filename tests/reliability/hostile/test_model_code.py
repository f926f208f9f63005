"""Model code runs in its own room: a model that edits its inputs in place, changes the working
directory or raises BaseExceptions changes nothing another model, suite or later stage sees, and
the job cache never serves a number computed from inputs another model could have changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import harness.config.plan as plan_module
import harness.core.model_calls as model_calls
from harness.cli.main import main
from harness.core.model_calls import CheckedAdapter
from harness.core.task import Task
from harness.data.builtin import digits
from harness.run.model_adapter import build_model_adapter
from harness.store.run_store import load_jobs
from tests.reliability.hostile.hostile_code import zeroing, zeroing_callable

HOSTILE = "tests.reliability.hostile.hostile_code"

# the case: a model zeroing its input listed before digits-mlp, accuracy and one shift
# corruption, 100 samples (the shift suite caches corrupted batches and hands them to every model)
POISON_SPEC = f"""
name: poison
seed: 0
device: cpu
tasks: [digits]
models:
  - {{name: zeroing, factory: "{HOSTILE}:zeroing", input_shape: [1, 8, 8]}}
  - digits-mlp
suites:
  accuracy: {{}}
  shift: {{corruptions: [gaussian_noise], severities: [1]}}
"""
CLEAN_SPEC = """
name: clean
seed: 0
device: cpu
tasks: [digits]
models: [digits-mlp]
suites:
  accuracy: {}
  shift: {corruptions: [gaussian_noise], severities: [1]}
"""


def _metric(out: Path, model: str, suite: str, metric: str) -> float:
    found = [
        m.value
        for _, job in load_jobs(out)
        if job.record.model == model and job.record.suite == suite
        for m in job.metrics
        if m.metric == metric and m.value is not None
    ]
    assert len(found) == 1, (model, suite, metric, found)
    return found[0]


def _job_messages(out: Path) -> dict[tuple[str, str], str]:
    (run_dir,) = (out / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {(j["model"], j["suite"]): j["message"] for j in manifest["jobs"]}


@pytest.fixture(scope="module")
def clean_value(tmp_path_factory: pytest.TempPathFactory) -> float:
    """digits-mlp's mean_corruption_acc in a run without the hostile model."""
    folder = tmp_path_factory.mktemp("clean")
    spec = folder / "clean.yaml"
    spec.write_text(CLEAN_SPEC)
    assert main(["run", str(spec), "--out", str(folder / "out"), "--limit", "100"]) == 0
    return _metric(folder / "out", "digits-mlp", "shift", "mean_corruption_acc")


def test_a_model_zeroing_its_inputs_moves_no_other_models_number(
    tmp_path: Path, clean_value: float
) -> None:
    spec = tmp_path / "poison.yaml"
    spec.write_text(POISON_SPEC)
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--limit", "100"]) == 0
    assert clean_value > 0.9  # digits-mlp is a good model: 0.98 on these 100 samples
    assert _metric(tmp_path / "out", "digits-mlp", "shift", "mean_corruption_acc") == clean_value
    # the hostile model itself sees zeros and guesses one class (10 classes, stratified)
    assert _metric(tmp_path / "out", "zeroing", "shift", "mean_corruption_acc") == pytest.approx(
        0.1
    )


def test_the_job_cache_never_serves_a_number_computed_before_isolation(
    tmp_path: Path, clean_value: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A results folder holding digits-mlp's poisoned shift job from before the fix (shared
    inputs, the old key): a clean run into it computes the job afresh, never "reused"."""
    spec = tmp_path / "poison.yaml"
    spec.write_text(POISON_SPEC)
    out = tmp_path / "out"
    with monkeypatch.context() as before_the_fix:
        before_the_fix.setattr(model_calls, "private_inputs", lambda inputs: inputs)
        before_the_fix.setattr(plan_module, "MODEL_ISOLATION", 0)
        assert main(["run", str(spec), "--out", str(out), "--limit", "100"]) == 0
    poisoned = _metric(out, "digits-mlp", "shift", "mean_corruption_acc")
    assert poisoned == pytest.approx(0.1)  # the 0.100: the bug, reproduced
    clean = tmp_path / "clean.yaml"
    clean.write_text(CLEAN_SPEC)
    assert main(["run", str(clean), "--out", str(out), "--limit", "100"]) == 0
    clean_dir = next(p for p in (out / "runs").iterdir() if p.name.startswith("clean-"))
    manifest = json.loads((clean_dir / "manifest.json").read_text())
    assert [j["status"] for j in manifest["jobs"]] == ["completed", "completed"]
    assert not any("reused" in j["message"] for j in manifest["jobs"])
    values = [
        m.value
        for man, job in load_jobs(out)
        if man.run_id.startswith("clean-") and job.record.suite == "shift"
        for m in job.metrics
        if m.metric == "mean_corruption_acc"
    ]
    assert values == [clean_value]


def _batch(task: Task) -> torch.Tensor:
    inputs = next(task.batches(16)).inputs
    assert isinstance(inputs, torch.Tensor)
    return inputs


@pytest.mark.parametrize("how", ["mul", "data", "numpy"])
def test_every_write_path_into_a_torch_models_inputs_stays_in_its_call(how: str) -> None:
    from harness.adapters.torch_module import TorchModuleAdapter

    task = digits().subset(20, seed=0)
    adapter = TorchModuleAdapter.from_module(zeroing(how), name="z", input_shape=(1, 8, 8))
    checked = CheckedAdapter(adapter, task)
    batch = _batch(task)
    before = batch.clone()
    checked.logits(batch)
    assert torch.equal(batch, before)
    # and without the copy the model's write would have reached the caller (the test can fail)
    adapter.logits(batch)
    assert not torch.equal(batch, before)


def test_a_black_box_predictor_writing_into_its_numpy_batch_stays_in_its_call(
    tmp_path: Path,
) -> None:
    from harness.config.planner import model_plan
    from harness.config.spec import ModelSpec
    from harness.run.plugins import installed_plugins

    entry = ModelSpec.model_validate(
        {
            "name": "bb",
            "adapter": "callable",
            "callable": f"{HOSTILE}:zeroing_callable",
            "factory": True,
            "input_format": "numpy",
            "input_shape": [1, 8, 8],
            "modality": "image",
        }
    )
    adapter = build_model_adapter(
        model_plan(entry, 0, tmp_path, installed_plugins()),
        device=torch.device("cpu"),
        base_dir=tmp_path,
    )
    task = digits().subset(20, seed=0)
    batch = _batch(task)
    before = batch.clone()
    CheckedAdapter(adapter, task).logits(batch)
    assert torch.equal(batch, before)
    assert callable(zeroing_callable())


def test_text_inputs_are_a_new_list_per_call() -> None:
    texts = ["a", "b"]
    own = model_calls.private_inputs(texts)
    assert own == texts and own is not texts


def test_process_state_changed_by_model_code_is_put_back(tmp_path: Path) -> None:
    cwd, grad, dtype = os.getcwd(), torch.is_grad_enabled(), torch.get_default_dtype()
    with model_calls.keeping_process_state():
        os.chdir(tmp_path)
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
    assert (os.getcwd(), torch.is_grad_enabled(), torch.get_default_dtype()) == (cwd, grad, dtype)


def test_model_code_changing_the_working_directory_moves_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A factory and a forward that call os.chdir, with a relative --out and spec path: the job
    folders and the finished manifest stay under --out, nothing is written where they went, and
    every later model still finds its files (paths are absolute before model code runs)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    here = tmp_path / "here"
    here.mkdir()
    (here / "spec.yaml").write_text(
        f"""
name: wander
device: cpu
limit: 20
batch_size: 10
bootstrap_resamples: 0
tasks: [digits]
models:
  - {{name: builds-away, factory: "{HOSTILE}:wandering_factory", factory_args: {{to: "{elsewhere}"}},
     input_shape: [1, 8, 8]}}
  - {{name: runs-away, factory: "{HOSTILE}:wandering", factory_args: {{to: "{elsewhere}"}},
     input_shape: [1, 8, 8]}}
  - digits-mlp
suites:
  accuracy: {{}}
"""
    )
    monkeypatch.chdir(here)
    assert main(["run", "spec.yaml", "--out", "out"]) == 0
    assert os.getcwd() == str(here)
    (run_dir,) = (here / "out" / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert [j["status"] for j in manifest["jobs"]] == ["completed"] * 3
    assert len(list((run_dir / "jobs").iterdir())) == 3
    assert list(elsewhere.iterdir()) == []


def test_a_forward_pass_failure_names_the_batch_size() -> None:
    """A model that takes a few inputs per call failed with "model 'few' raised RuntimeError
    during its forward pass on task 'digits': takes at most 2 samples per call", which left
    the user to guess that the run's batch size was the cause. The line now says how many
    inputs the failing call had."""
    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.core.errors import ModelCallError
    from tests.suites.throughput.planted_models import FailsAbove

    task = digits().subset(20, seed=0)
    net = torch.nn.Sequential(torch.nn.Flatten(), FailsAbove(limit=2, features=64, classes=10))
    checked = CheckedAdapter(TorchModuleAdapter.from_module(net, name="few"), task)
    assert checked.logits(_batch(task)[:2]).shape == (2, 10)
    with pytest.raises(ModelCallError) as err:
        checked.logits(_batch(task))
    assert str(err.value) == (
        "model 'few' raised RuntimeError during its forward pass on task 'digits' on a batch of "
        "16 inputs: takes at most 2 samples per call"
    )
