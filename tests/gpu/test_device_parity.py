"""The GPU paths against the CPU: the same model, samples and seeds on both devices.

Each check runs once per device in `DEVICES`: on "cpu" it compares the CPU with itself (a second
run, so determinism and the comparison code are tested in every default test run); on "cuda"
(marker `gpu`, `make test-gpu` on a machine with CUDA) it compares CUDA with the CPU. Other
kernels move logits and filtered pixels in their last float bits, so a decision at a tie may
differ between devices: each check states what must be equal and what may move, and by how much.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import harness
from harness.suites.shift.image_corruptions import CORRUPTIONS, corrupt

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ],
    ),
]


def _rows(model: str, task: str, suites: Any, device: str) -> Any:
    result = harness.evaluate(
        model, task=task, suites=suites, device=device, bootstrap_resamples=100, seed=3
    )
    return result, result.table.to_pandas().sort_values(["condition", "sample_id"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("tf32", [False, True])
def test_accuracy_suite_predictions_match_the_cpu(
    device: str, tf32: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In full FP32 the confidences agree to float32 rounding. With TF32 convolutions (cuDNN's
    default on Ampere and later: 10-bit mantissas) they move by up to 1.7e-4 on digits-cnn (H100),
    no decision flipped: the bound is 1e-3, and the run records the mode (`device_info`)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", tf32)
    cpu, cpu_rows = _rows("digits-cnn", "digits", ["accuracy"], "cpu")
    got, rows = _rows("digits-cnn", "digits", ["accuracy"], device)
    assert list(rows["sample_id"]) == list(cpu_rows["sample_id"])
    # at most one decision of 719 may flip at a near-tie
    assert (rows["prediction"].to_numpy() != cpu_rows["prediction"].to_numpy()).sum() <= 1
    atol = 1e-3 if tf32 and device == "cuda" else 1e-5
    np.testing.assert_allclose(rows["confidence"], cpu_rows["confidence"], atol=atol)
    for metric in ("top1_acc", "ece", "brier"):
        assert abs(got.metric(metric).value - cpu.metric(metric).value) <= 2e-3, metric


@pytest.mark.parametrize("device", DEVICES)
def test_corruptions_on_the_device_match_the_cpu(device: str) -> None:
    gen = torch.Generator().manual_seed(0)
    # 8-bit levels, as decoded images hold (shot noise reads its exact tables there)
    images = torch.randint(0, 256, (3, 3, 40, 40), generator=gen).float() / 255
    seeds = torch.tensor([11, 12, 13], dtype=torch.int64)
    off: list[str] = []
    for name in CORRUPTIONS:
        ref = corrupt(images, name, 3, seeds)
        out = corrupt(images.to(device), name, 3, seeds.to(device)).cpu()
        assert out.shape == ref.shape and out.dtype == ref.dtype, name
        diff = (out - ref).abs()
        if name == "jpeg_compression":  # libjpeg itself on every device: bit-identical
            if not torch.equal(out, ref):
                off.append(f"{name}: not bit-identical (max {float(diff.max()):.3g})")
            continue
        # random numbers are the same integers on both devices; filters and resampling may
        # round differently, and a value at an 8-bit step may land one level away
        if float(diff.mean()) > 1e-4 or float(diff.max()) > 1 / 255 + 1e-5:
            off.append(f"{name}: mean {float(diff.mean()):.3g}, max {float(diff.max()):.3g}")
    assert not off, off


@pytest.mark.parametrize("device", DEVICES)
def test_attacks_on_the_device_break_the_same_samples(device: str) -> None:
    suites = {
        "adversarial": {
            "attacks": ["linf_apgd_ce", "linf_square"],
            "params": {"linf_apgd_ce": {"steps": 10}, "linf_square": {"queries": 100}},
            "epsilons": {"linf": [0.1]},
            "max_samples": 48,
            "checks": False,
        }
    }
    cpu, cpu_rows = _rows("digits-cnn", "digits", suites, "cpu")
    got, rows = _rows("digits-cnn", "digits", suites, device)
    assert list(rows["sample_id"]) == list(cpu_rows["sample_id"])
    assert list(rows["condition"]) == list(cpu_rows["condition"])
    # per-sample seeds are device-independent: at most one of 48 samples may end differently
    flips = (rows["correct"].to_numpy() != cpu_rows["correct"].to_numpy()).sum()
    assert flips <= 1
    flags = got.results["adversarial"].artifacts["flags"]
    assert flags == cpu.results["adversarial"].artifacts["flags"]


@pytest.mark.parametrize("device", DEVICES)
def test_ood_detectors_on_the_device_match_the_cpu(device: str) -> None:
    suites = {
        "shift": {
            "corruptions": [],
            "ood_sets": ["mnist-unseen"],
            "max_samples": 200,
            "ood": {"detectors": "all", "fit_samples": 200},
        }
    }
    cpu, _ = _rows("mnist-seen-cnn", "mnist-seen", suites, "cpu")
    got, _ = _rows("mnist-seen-cnn", "mnist-seen", suites, device)
    ref = cpu.metrics_frame()
    out = got.metrics_frame()
    ref = ref[ref["metric"] == "ood_auroc"].set_index("key")["value"]
    out = out[out["metric"] == "ood_auroc"].set_index("key")["value"]
    assert list(out.index) == list(ref.index) and len(ref) >= 14
    # every detector's AUROC over 400 pairs of samples: a near-tie may swap one pair's order
    np.testing.assert_allclose(out.to_numpy(), ref.to_numpy(), atol=2e-3)


class _BufferOnly(torch.nn.Module):
    """A linear read-out held as a buffer (a fixed filter bank): no parameter to ask its device."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(
            "weight", torch.randn(10, 64, generator=torch.Generator().manual_seed(0))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight.T


@pytest.mark.parametrize("device", DEVICES)
def test_a_module_of_buffers_only_comes_back_on_its_device(device: str) -> None:
    from harness.data.builtin import digits_arrays

    x, y = digits_arrays("test")
    model = _BufferOnly()
    harness.evaluate(model, data=(x[:64], y[:64]), suites=["accuracy"], device=device)
    assert model.weight.device == torch.device("cpu")  # where the caller's training loop has it


@pytest.mark.parametrize("device", DEVICES)
def test_a_module_and_tensors_held_on_the_device_go_in_as_they_are(device: str) -> None:
    """A user's module and `(x, y)` already on the device (a training loop's) go into
    `harness.evaluate` as they are: the same numbers as from the CPU (H200, 2026-11-27: 122 of
    127 numbers identical, the rest calibration within 2e-8), and both stay where they were."""
    from harness.data.builtin import digits_arrays

    x, y = digits_arrays("test")
    x, y = torch.as_tensor(x[:200]), torch.as_tensor(y[:200])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    train_x, train_y = (torch.as_tensor(a) for a in digits_arrays("train"))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(40):  # about 0.9 accuracy: samples for the attack to break
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(train_x), train_y).backward()
        optimizer.step()
    suites = {
        "accuracy": None,
        "adversarial": {
            "attacks": ["linf_apgd_ce"],
            "params": {"linf_apgd_ce": {"steps": 10}},
            "epsilons": {"linf": [0.1]},
            "max_samples": 64,
            "checks": False,
        },
    }
    values = {}
    for where in ("cpu", device):
        held, xs, ys = model.to(where), x.to(where), y.to(where)
        result = harness.evaluate(held, data=(xs, ys), suites=suites, device=where, seed=1)
        assert next(held.parameters()).device.type == xs.device.type == where
        values[where] = result.metrics_frame().set_index("key")["value"]
    ref, got = values["cpu"], values[device]
    assert list(got.index) == list(ref.index) and len(ref) >= 20
    numbers = [k for k in ref.index if isinstance(ref[k], float) and not np.isnan(ref[k])]
    np.testing.assert_allclose(got[numbers].astype(float), ref[numbers].astype(float), atol=0.01)


class _InHalf(torch.nn.Module):
    """A digits MLP run wholly in a half format (its inputs cast inside), as a model served in
    float16 or bfloat16 is."""

    def __init__(self, net: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.net, self.dtype = net.to(dtype), dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.to(self.dtype))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_half_precision_models_last_layer_detectors_run_on_the_device(
    device: str, dtype: torch.dtype
) -> None:
    """ViM, ReAct, ASH and DICE read the last layer's weight, which is handed out only when
    features @ W.T + b rebuild the logits within the layer's rounding. In float16 or bfloat16 a
    GEMM on the device may accumulate and round otherwise than on the CPU: the detectors must
    run on both, and agree on the ranking."""
    from harness.data.builtin import digits_arrays

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    )
    train_x, train_y = (torch.as_tensor(a) for a in digits_arrays("train"))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(40):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(train_x), train_y).backward()
        optimizer.step()
    suites = {
        "shift": {
            "corruptions": [],
            "ood_sets": [{"generated": "uniform_noise", "n": 100}],
            "max_samples": 100,
            "ood": {
                "detectors": ["energy", "vim", "react", "ash", "dice"],
                "fit_samples": 200,
            },
        }
    }
    aurocs = {}
    for where in ("cpu", device):
        model = _InHalf(net, dtype)
        result = harness.evaluate(model, task="digits", suites=suites, device=where, seed=2)
        frame = result.metrics_frame()
        frame = frame[frame["metric"] == "ood_auroc"].set_index("key")["value"]
        aurocs[where] = frame
    ref, got = aurocs["cpu"], aurocs[device]
    ran = [k for k in ref.index if "score=" in k and not np.isnan(ref[k])]
    assert {k.split("score=")[1].rstrip("]") for k in ran} >= {"vim", "react", "ash", "dice"}
    assert list(got.index) == list(ref.index)
    np.testing.assert_allclose(got[ran].astype(float), ref[ran].astype(float), atol=0.02)
