"""Gradients measured from the forward pass (the escalation's gradient attacks): the coordinate
estimate is the model's own gradient on a piecewise-linear network, NES is used where the
coordinates do not fit the budget, and APGD on them breaks what the true gradient breaks even
when the model hands out another network's gradient."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data import builtin as builtin_tasks
from harness.suites.adversarial.apgd import apgd, dlr_targeted
from harness.suites.adversarial.estimated_gradients import EstimatedForward, uses_coordinates
from harness.suites.adversarial.forward import Forward, cross_entropy
from harness.suites.adversarial.noise import sample_seeds
from tests.suites.adversarial import models as M

CPU = torch.device("cpu")


def _forwards(model: torch.nn.Module, passes: int, scale: float) -> tuple[Forward, Forward]:
    a = TorchModuleAdapter.from_module(model, name="m", input_shape=(1, 8, 8))
    module = a.module().requires_grad_(False)
    true = Forward(adapter=a, module=module, num_classes=10)
    est = EstimatedForward(
        adapter=a,
        module=module,
        num_classes=10,
        passes=passes,
        sigma=scale,
        step=scale,
        bounds=(0.0, 1.0),
    )
    return true, est


def _digits(n: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    task = builtin_tasks.digits().head(n)
    return task.all_inputs(), torch.as_tensor(task.labels), task.sample_ids


def test_coordinates_give_a_linear_models_exact_gradient_for_any_loss() -> None:
    x, y, _ = _digits(20)
    true, est = _forwards(M.control_digits(), passes=128, scale=0.025)
    assert uses_coordinates(64, 128) and not uses_coordinates(64, 64)
    target = (y + 3) % 10
    for loss in (cross_entropy(y), dlr_targeted(y, target)):
        z1, l1, g1 = true.loss_grad(x, loss)
        z2, l2, g2 = est.loss_grad(x, loss)
        assert torch.allclose(z1, z2) and torch.allclose(l1, l2)
        # pixels at the box's ends step inwards: still exact for a linear model
        assert torch.allclose(g1, g2, atol=1e-4 * float(g1.abs().max()))
    assert est.method == "coordinates"


def test_nes_is_used_when_the_coordinates_do_not_fit_and_points_downhill() -> None:
    x, y, _ = _digits(20)
    true, est = _forwards(M.control_digits(), passes=32, scale=0.025)
    loss = cross_entropy(y)
    _, _, g1 = true.loss_grad(x, loss)
    _, _, g2 = est.loss_grad(x, loss)
    assert est.method == "nes"
    cosine = torch.nn.functional.cosine_similarity(g1.flatten(1), g2.flatten(1))
    assert (cosine > 0.2).all(), cosine  # a noisy estimate of the same direction


def test_one_estimate_serves_every_loss_at_the_same_point() -> None:
    x, y, _ = _digits(8)
    calls: list[int] = []
    _, est = _forwards(M.control_digits(), passes=128, scale=0.025)
    module = est.module
    assert module is not None
    original = module.forward

    def counting_forward(inputs: torch.Tensor) -> torch.Tensor:
        calls.append(len(inputs))
        return original(inputs)

    module.forward = counting_forward  # type: ignore[method-assign]
    est.loss_grad(x, cross_entropy(y))
    first = sum(calls)
    est.loss_grad(x, dlr_targeted(y, (y + 1) % 10))  # MALT's ranking: same point, other loss
    assert sum(calls) == first  # no forward pass: the estimate was kept
    est.loss_grad(x + 0.01, cross_entropy(y))
    assert sum(calls) > first


@pytest.mark.slow  # APGD-T on estimated gradients (make test-slow; CI runs it)
def test_apgd_t_on_measured_gradients_beats_a_wrong_surrogate() -> None:
    """digits-cnn's forward pass with digits-mlp's gradient: APGD-T on the model's own gradient
    walks the wrong way, on the measured one it breaks what it breaks on the honest network."""
    x, y, ids = _digits(40)
    honest, _ = _forwards(M.zoo_network("digits-cnn"), passes=128, scale=0.025)
    wrong, est = _forwards(M.zoo_surrogate("digits-cnn", "digits-mlp"), passes=128, scale=0.025)
    seeds = sample_seeds(0, ids, "t", device=CPU)
    common = {"norm": "linf", "eps": 0.1, "bounds": (0.0, 1.0), "seeds": seeds, "steps": 25}
    kw = {**common, "restarts": 1, "loss": "dlr_targeted", "targets": 3}
    truth = apgd(honest, x, y, **kw).found  # type: ignore[arg-type]
    misled = apgd(wrong, x, y, **kw).found  # type: ignore[arg-type]
    measured = apgd(est, x, y, **kw).found  # type: ignore[arg-type]
    assert int(misled.sum()) < int(truth.sum())
    assert int(measured.sum()) >= int(truth.sum())


def test_apgd_t_skips_the_first_targets_of_the_order(monkeypatch) -> None:
    from harness.suites.adversarial import apgd as apgd_module

    x, y, ids = _digits(30)
    true, _ = _forwards(M.control_digits(), passes=128, scale=0.025)
    seeds = sample_seeds(0, ids, "t", device=CPU)
    ranking = true.logits(x).argsort(dim=1, descending=True)
    targets: list[torch.Tensor] = []
    original = apgd_module._Run.__init__

    def spy(self, fwd, xs, ys, target, **kw):  # noqa: ANN001, ANN003, ANN202
        targets.append(target)
        original(self, fwd, xs, ys, target, **kw)

    monkeypatch.setattr(apgd_module._Run, "__init__", spy)
    apgd(
        true,
        x,
        y,
        norm="linf",
        eps=0.02,  # small: few samples break, so every target runs on most of them
        bounds=(0.0, 1.0),
        seeds=seeds,
        steps=5,
        restarts=1,
        loss="dlr_targeted",
        targets=4,
        skip_targets=7,
        ranking=ranking,
    )
    assert len(targets) == 2  # only two targets are left after the first seven
    assert torch.equal(targets[0], ranking[:, 8])  # every sample's 8th target first
    assert set(targets[1].tolist()) <= set(ranking[:, 9].tolist())
