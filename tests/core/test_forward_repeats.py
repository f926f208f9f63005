"""A model whose outputs are not a function of its input says so on every job: a randomised one
(noise on its logits) and one whose rows depend on their batch (BatchNorm in train mode). Before,
the accuracy suite published either as exact: a callable adding N(0, 3) noise to its logits
scored top-1 0.110 on digits, then 0.114 on a rerun of the same spec, with nothing said."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import harness
from harness.adapters.torch_module import TorchModuleAdapter
from harness.cli.main import main
from harness.core import forward_repeats
from harness.core.model_calls import CheckedAdapter
from harness.data.builtin import digits
from tests.fixture_models import linear_digits

_W = np.random.default_rng(0).normal(size=(64, 10)).astype(np.float32)


def steady(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).reshape(len(x), -1) @ _W


def noisy(x: np.ndarray) -> np.ndarray:
    """numpy's global generator, which each job seeds (harness/run/model_rng.py)."""
    return steady(x) + np.random.normal(scale=3.0, size=(len(x), 10)).astype(np.float32)


def _batch_norm() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), nn.Linear(16, 10))

    class TrainMode(nn.Module):  # forward switches batch statistics back on
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.net.train()
            return self.net(x)  # type: ignore[no-any-return]

    return TrainMode()


def _notes(model: nn.Module, batch_size: int = 64) -> list[str]:
    adapter = TorchModuleAdapter.from_module(model, name="m", input_shape=(1, 8, 8))
    return CheckedAdapter(adapter, digits().head(80)).input_notes(batch_size)


def test_a_steady_model_gets_no_note_and_torch_generator_is_left_alone() -> None:
    model = linear_digits()
    before = torch.random.get_rng_state()
    assert _notes(model) == []
    assert torch.equal(torch.random.get_rng_state(), before)


def test_dropout_inside_forward_is_called_randomised() -> None:
    class Dropped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = linear_digits()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.dropout(self.lin(x), 0.5, training=True)

    (note,) = _notes(Dropped())
    assert note.startswith("caveat: model 'm' is randomised: passed the same 32 first inputs")
    assert "one draw" in note and "same seed, batch_size and shards draws the same" in note


def test_a_noisy_model_with_a_masked_class_is_called_randomised() -> None:
    """A class masked to -inf made every row's scale inf and its gap NaN (-inf - -inf): the
    noise on the other logits went unseen and the model got no note."""

    def masked(x: torch.Tensor) -> torch.Tensor:
        out = torch.as_tensor(noisy(x.numpy()))
        out[:, 0] = -torch.inf
        return out

    x = torch.rand(32, 64)
    assert forward_repeats.unstable_rows(masked, x, torch.device("cpu")) == (32, 0, 32)
    # masked alike in both passes, and NaN alike, a steady model is a function of its input
    steady_masked = torch.as_tensor(steady(x.numpy()))
    steady_masked[:, 0], steady_masked[:, 1] = -torch.inf, torch.nan
    assert forward_repeats.unstable_rows(lambda t: steady_masked, x, torch.device("cpu")) == (
        0,
        0,
        32,
    )
    # an inf in one pass only, or of the other sign, is a change
    flipped = steady_masked.clone()
    flipped[3, 0] = torch.inf
    flipped[5, 2] = torch.inf
    assert forward_repeats._differ(steady_masked.double(), flipped.double()) == 2


def test_batch_statistics_are_called_batch_dependent() -> None:
    (note,) = _notes(_batch_norm())
    assert "change with the other inputs of its batch (16 of 16 first inputs" in note
    assert "depend on batch_size" in note


@pytest.mark.parametrize("scale", [1e-3, 1e-6])
def test_small_logits_get_the_caveat_of_their_unit_copy(scale: float) -> None:
    """The change was compared with 1e-4 x each row's largest logit clamped to at least 1: a
    model whose logits are all small (x1e-5: the same decisions) changed by less than that and
    got no caveat, though its numbers move with batch_size or the draw as the x1 model's do."""

    class Scaled(nn.Module):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x) * scale  # type: ignore[no-any-return]

    (note,) = _notes(Scaled(_batch_norm()))
    assert "change with the other inputs of its batch (16 of 16 first inputs" in note
    x = torch.rand(32, 64)
    small_noise = lambda t: torch.as_tensor(noisy(t.numpy())) * scale  # noqa: E731
    assert forward_repeats.unstable_rows(small_noise, x, torch.device("cpu"))[0] == 32
    small_steady = lambda t: torch.as_tensor(steady(t.numpy())) * scale  # noqa: E731
    assert forward_repeats.unstable_rows(small_steady, x, torch.device("cpu")) == (0, 0, 32)


def test_evaluate_carries_the_caveat_of_a_noisy_function() -> None:
    task = digits().head(100)
    x, y = task.all_inputs().numpy(), task.labels
    fast = dict(device="cpu", bootstrap_resamples=0, name="toy", num_classes=10)
    got = harness.evaluate(noisy, data=(x, y), **fast)  # type: ignore[arg-type]
    assert any("is randomised" in n for n in got.results["accuracy"].notes)
    plain = harness.evaluate(steady, data=(x, y), **fast)  # type: ignore[arg-type]
    assert not any("randomised" in n for n in plain.results["accuracy"].notes)


def test_the_caveat_says_what_a_rerun_of_a_seeded_draw_gives() -> None:
    """The job seeds the generators a noisy callable reads, so a rerun (no cache here) gives
    the same draw; the note said "--no-cache draws again", which it does not."""
    task = digits().head(100)
    x, y = task.all_inputs().numpy(), task.labels
    fast = dict(device="cpu", bootstrap_resamples=0, name="toy", num_classes=10)
    first = harness.evaluate(noisy, data=(x, y), **fast)  # type: ignore[arg-type]
    again = harness.evaluate(noisy, data=(x, y), **fast)  # type: ignore[arg-type]
    assert first.metric("top1_acc").value == again.metric("top1_acc").value
    (note,) = [n for n in first.results["accuracy"].notes if "is randomised" in n]
    assert "draws again" not in note and "draws the same numbers (--no-cache too)" in note


_SPEC = """
name: draws
device: cpu
limit: 60
bootstrap_resamples: 0
tasks: [digits]
models:
  - {name: noisy, adapter: callable, callable: "tests.core.test_forward_repeats:noisy"}
  - {name: steady, adapter: callable, callable: "tests.core.test_forward_repeats:steady"}
suites:
  accuracy: {}
"""


def _run_noisy_and_steady(write_spec: Callable[..., Path], tmp_path: Path) -> Path:
    """`harness run` of a randomised and a steady callable on 60 digits: the results folder."""
    out = tmp_path / "out"
    assert main(["run", str(write_spec(_SPEC)), "--out", str(out)]) == 0
    return out


def test_a_run_records_the_caveat_in_the_job(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    out = _run_noisy_and_steady(write_spec, tmp_path)
    notes = {
        path.parent.name.split("--")[0]: json.loads(path.read_text())["notes"]
        for path in out.glob("runs/*/jobs/*/job.json")
    }
    assert any("model 'noisy' is randomised" in n for n in notes["noisy"]), notes["noisy"]
    assert not any("randomised" in n for n in notes["steady"]), notes["steady"]


def test_the_gate_says_which_models_are_randomised(
    write_spec: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run_noisy_and_steady(write_spec, tmp_path)
    (run,) = out.glob("runs/*")
    capsys.readouterr()
    assert main(["check", "--baseline", str(run), "--current", str(run), "--width", "0"]) == 0
    said = capsys.readouterr().out
    assert "noisy · digits: the current run's jobs say model 'noisy' is randomised" in said
    # the seeding holds for the global generators only, not for one the model holds
    assert "a generator of the model's own need not" in " ".join(said.split())
    assert "steady · digits: the current" not in said


class _OomAbove(nn.Module):
    """`net`, raising torch's out-of-memory error on batches above `limit` (a large model on a
    small GPU)."""

    def __init__(self, net: nn.Module, limit: int) -> None:
        super().__init__()
        self.net, self.limit = net, limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) > self.limit:
            raise torch.OutOfMemoryError(f"fake out of memory: batch {len(x)} > {self.limit}")
        return self.net(x)  # type: ignore[no-any-return]


def test_a_model_out_of_memory_at_the_look_keeps_its_throughput() -> None:
    """The look passed the task's first 32 inputs after the suite had run: a model out of memory
    above 8 inputs, whose throughput sweep recorded batch 16 as `oom` (a result), then failed
    the job with torch's OutOfMemoryError (a traceback from evaluate, `ran out of memory` from
    harness run) and its measured batch sizes were lost (probe86). The look halves instead."""
    model = _OomAbove(linear_digits(), limit=8)
    result = harness.evaluate(
        model,
        data=(torch.rand(40, 1, 8, 8), torch.arange(40) % 10),
        name="oom-look",
        suites={
            "throughput": {"batch_sizes": [4, 16], "warmup_iters": 1, "timed_iters": 2, "rounds": 1}
        },
        device="cpu",
        bootstrap_resamples=0,
    )
    speed = {
        m.context["batch_size"]: m.value
        for m in result.metrics
        if m.metric == "throughput_samples_per_s"
    }
    assert speed[4] is not None and speed[16] is None  # 16: oom, a result


def test_the_look_halves_to_a_batch_the_model_can_hold() -> None:
    (note,) = _notes(_OomAbove(_batch_norm(), limit=8))
    assert "change with the other inputs of its batch (4 of 4 first inputs" in note
