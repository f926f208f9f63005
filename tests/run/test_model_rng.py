"""A randomised model's numbers do not depend on what used torch's, numpy's or Python's
generator before its job (harness/run/model_rng.py), through `harness run` and through
`harness.evaluate`."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

import harness
from harness.cli.main import main
from harness.data.builtin import digits
from harness.store.run_store import load_jobs


class Noisy(nn.Module):
    """A linear digits model whose logits get fresh noise from torch's global generator."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)
        with torch.no_grad():  # its own generator: building it leaves the global one alone
            self.fc.weight.copy_(torch.randn(10, 64, generator=torch.Generator().manual_seed(0)))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(x.flatten(1))
        return logits + 3 * torch.randn_like(logits)


def noisy() -> nn.Module:
    return Noisy()


def _predictions(out: Path) -> list[int]:
    (job,) = [j for _, j in load_jobs(out)]
    return job.table().frame.sort_values("sample_id")["prediction"].tolist()


def test_harness_run_seeds_the_generator_per_job(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "models:\n  - {name: noisy, adapter: torch, factory: 'tests.run.test_model_rng:noisy'}\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nlimit: 200\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--width", "0"]) == 0
    torch.rand(12345)  # another job, another model
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--width", "0"]) == 0
    assert _predictions(tmp_path / "a") == _predictions(tmp_path / "b")


def test_evaluate_seeds_the_generator_per_suite() -> None:
    task, model = digits(), Noisy()

    def predictions() -> list[int]:
        result = harness.evaluate(model, task=task, suites=["accuracy"], device="cpu", limit=200)
        return result.table.frame["prediction"].tolist()

    first = predictions()
    torch.rand(777)  # the caller's own use of the generator
    state = torch.random.get_rng_state()
    assert predictions() == first
    assert torch.equal(torch.random.get_rng_state(), state)  # put back where it was


_W = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)


def noisy_numpy(x: np.ndarray) -> np.ndarray:
    """Noise from numpy's legacy global generator and Python's `random`."""
    logits = np.asarray(x, np.float32).reshape(len(x), -1) @ _W
    return logits + np.random.normal(scale=3.0, size=logits.shape) + random.random()


def test_numpy_and_python_generators_are_seeded_per_job_and_put_back(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "models:\n  - {name: noisy, adapter: callable, "
        "callable: 'tests.run.test_model_rng:noisy_numpy'}\n"
        "tasks: [digits]\nsuites: {accuracy: {}}\nlimit: 200\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "a"), "--width", "0"]) == 0
    np.random.rand(4321)  # another job, another model
    random.random()
    state, python_state = np.random.get_state(), random.getstate()
    assert main(["run", str(spec), "--out", str(tmp_path / "b"), "--width", "0"]) == 0
    assert _predictions(tmp_path / "a") == _predictions(tmp_path / "b")
    assert np.array_equal(np.random.get_state()[1], state[1])
    assert random.getstate() == python_state
