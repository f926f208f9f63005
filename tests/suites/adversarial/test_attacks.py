"""The native attacks on their own: budgets and bounds respected, found means misclassified,
results per sample independent of the batch, any input shape, gradients of any layout."""

from __future__ import annotations

import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data import builtin as builtin_tasks
from harness.suites.adversarial.apgd import apgd
from harness.suites.adversarial.forward import Forward, cross_entropy
from harness.suites.adversarial.noise import sample_seeds
from harness.suites.adversarial.square import p_selection, square
from tests.suites.adversarial import models as M

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    task = builtin_tasks.digits().head(80)
    return task.all_inputs(), torch.as_tensor(task.labels), task.sample_ids


def forward(model: torch.nn.Module, shape=(1, 8, 8), classes: int = 10) -> Forward:
    a = TorchModuleAdapter.from_module(model, name="m", input_shape=shape)
    return Forward(adapter=a, module=a.module().requires_grad_(False), num_classes=classes)


def attacks(fwd: Forward, norm: str, eps: float):
    common = {"norm": norm, "eps": eps, "bounds": (0.0, 1.0)}
    return {
        "apgd_ce": lambda x, y, s: apgd(
            fwd, x, y, seeds=s, steps=20, restarts=1, loss="ce", **common
        ),
        "apgd_t": lambda x, y, s: apgd(
            fwd, x, y, seeds=s, steps=20, restarts=1, loss="dlr_targeted", targets=3, **common
        ),
        "square": lambda x, y, s: square(fwd, x, y, seeds=s, queries=150, rescale=True, **common),
    }


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.1), ("l2", 0.4)])
@pytest.mark.parametrize("name", ["apgd_ce", "apgd_t", "square"])
def test_attack_respects_budget_and_bounds_and_found_means_misclassified(
    data, norm, eps, name
) -> None:
    x, y, ids = data
    fwd = forward(M.control_digits())
    res = attacks(fwd, norm, eps)[name](x, y, sample_seeds(0, ids, name, device=CPU))
    delta = (res.adv - x).flatten(1)
    size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert (size <= eps * (1 + 1e-5) + 1e-6).all()
    assert res.adv.min() >= 0 and res.adv.max() <= 1
    pred = fwd.logits(res.adv).argmax(1)
    assert torch.equal(res.found, pred != y)
    assert 10 < int(res.found.sum()) < len(x)  # a real, partial attack
    assert torch.equal(res.adv[~res.found], x[~res.found])  # unbroken: the clean input back


@pytest.mark.parametrize("name", ["apgd_ce", "apgd_t", "square"])
def test_a_samples_result_does_not_depend_on_its_batch(data, name) -> None:
    x, y, ids = data
    fwd = forward(M.control_digits())
    run = attacks(fwd, "linf", 0.05)[name]
    seeds = sample_seeds(0, ids, name, device=CPU)
    whole = run(x, y, seeds)
    part = run(x[7:19].flip(0), y[7:19].flip(0), seeds[7:19].flip(0))
    assert torch.equal(whole.found[7:19].flip(0), part.found)
    assert torch.equal(whole.adv[7:19].flip(0), part.adv)


def test_apgd_t_with_two_classes_and_square_on_one_dimensional_inputs() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 2))
    x = torch.rand(40, 10)
    fwd = forward(net, shape=(10,), classes=2)
    y = fwd.logits(x).argmax(1)
    seeds = sample_seeds(0, [str(i) for i in range(40)], device=CPU)
    for norm, eps in (("linf", 0.2), ("l2", 0.5)):
        t = apgd(
            fwd,
            x,
            y,
            norm=norm,
            eps=eps,
            bounds=(0.0, 1.0),
            seeds=seeds,
            steps=20,
            restarts=1,
            loss="dlr_targeted",
            targets=9,
        )
        s = square(fwd, x, y, norm=norm, eps=eps, bounds=(0.0, 1.0), seeds=seeds, queries=200)
        for res in (t, s):
            assert res.found.any()
            assert torch.equal(res.found, fwd.logits(res.adv).argmax(1) != y)
        assert t.found.sum() >= s.found.sum()  # gradients are exact on a linear model


def test_square_p_schedule_follows_the_reference() -> None:
    assert p_selection(0.8, 0, 5000, False) == 0.8
    assert p_selection(0.8, 11, 5000, False) == 0.4
    assert p_selection(0.8, 600, 5000, False) == 0.8 / 16
    assert p_selection(0.8, 9000, 10000, False) == 0.8 / 512
    assert p_selection(0.8, 60, 600, True) == 0.8 / 16  # rescaled: 60 of 600 is 1000 of 10000


@pytest.mark.parametrize("form", ["dense", "sum", "permuted", "none"])
def test_gradients_expanded_non_contiguous_or_missing_never_crash(data, form) -> None:
    x, y, ids = data
    model = M.zero_grad_digits(form)
    fwd = forward(model)
    _, _, grad = fwd.loss_grad(x, cross_entropy(y))
    assert grad.shape == x.shape and grad.is_contiguous() and (grad == 0).all()
    res = apgd(
        fwd,
        x,
        y,
        norm="linf",
        eps=0.1,
        bounds=(0.0, 1.0),
        seeds=sample_seeds(0, ids, device=CPU),
        steps=5,
        restarts=1,
        loss="ce",
    )
    assert res.adv.shape == x.shape


def test_the_sum_form_really_hands_back_an_expanded_gradient(data) -> None:
    """The crash the issue reports: `grad.sign_()` on autograd's expanded gradient."""
    x, y, _ = data
    xa = x.clone().requires_grad_(True)
    out = M.zero_grad_digits("sum").requires_grad_(False)(xa)
    (grad,) = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), xa)
    assert 0 in grad.stride()
    with pytest.raises(RuntimeError):
        grad.sign_()


def test_paired_logits_score_two_batches_under_the_same_draws(data) -> None:
    """Square compares a proposal with its best point on a randomised model under the same draws
    of the model's noise (common random numbers): the same inputs give the same logits in both
    batches, fresh draws each call, and a deterministic model is scored as by `logits`."""
    x, _, _ = data
    from dataclasses import replace

    noisy = replace(forward(M.randomized_digits()), draws=4)
    a, b = noisy.paired_logits(x[:10], x[:10].clone())
    assert torch.equal(a, b)
    again, _ = noisy.paired_logits(x[:10], x[:10])
    assert not torch.equal(a, again)  # fresh draws
    plain = forward(M.control_digits())
    p, q = plain.paired_logits(x[:10], x[10:20])
    assert torch.equal(p, plain.logits(x[:10])) and torch.equal(q, plain.logits(x[10:20]))


def test_fab_t_puts_a_randomised_models_candidates_on_the_budgets_edge(data) -> None:
    """FAB's points lie just past the boundary, a coin flip for a randomised model's fresh
    verification; on such a model FAB-T moves its latest break along its direction from the
    clean input to the edge of the budget (L-inf: distance eps), deterministic models keep FAB's
    own closest point."""
    from dataclasses import replace

    from harness.suites.adversarial.fab import FabSettings, fab_targeted

    x, y, ids = data
    x, y = x[:30], y[:30]
    seeds = sample_seeds(0, ids[:30], "fab", device=CPU)
    settings = FabSettings(steps=20, targets=3)
    common = {"norm": "linf", "eps": 0.1, "bounds": (0.0, 1.0), "seeds": seeds}
    noisy = replace(forward(M.randomized_digits()), draws=4)
    adv = fab_targeted(noisy, x, y, settings=settings, **common)
    moved = (adv != x).flatten(1).any(1)
    dist = (adv - x).flatten(1).abs().amax(1)
    assert moved.sum() > 10
    assert torch.allclose(dist[moved], torch.full_like(dist[moved], 0.1), atol=1e-5)
    plain = fab_targeted(forward(M.control_digits()), x, y, settings=settings, **common)
    dist = (plain - x).flatten(1).abs().amax(1)
    assert (dist[(plain != x).flatten(1).any(1)] < 0.1 - 1e-3).any()


def test_the_loss_checks_objective_is_the_log_cross_entropy_without_its_saturation() -> None:
    """`log_cross_entropy` is log(`tracked_cross_entropy`) and its logit gradient points where the
    exact (float64) cross-entropy's does, per sample; at margins where the float32
    cross-entropy's gradient has lost its true-class term, or is 0 altogether, it is finite and
    keeps that term (-1 for the true class)."""
    from harness.suites.adversarial.pgd import log_cross_entropy, tracked_cross_entropy

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 120, generator=gen, dtype=torch.float64) * 3
    y = torch.tensor([0, 5, 17, 119, 60, 3])
    logits[1, 5] += 40.0  # confidently correct: float32 softmax gives p_y - 1 == 0
    logits[2, 17] += 800.0  # beyond float64's exp range
    logits[3, 0] += 50.0  # misclassified
    z = logits.float().requires_grad_(True)
    value = log_cross_entropy(y)(z)
    (grad,) = torch.autograd.grad(value.sum(), z)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    tracked = tracked_cross_entropy(z.detach(), y)
    ok = tracked > 0
    assert torch.allclose(value[ok], tracked[ok].log(), rtol=1e-12)
    assert torch.equal(grad[torch.arange(6), y] < 0, torch.ones(6, dtype=torch.bool))
    exact = z.detach().double().requires_grad_(True)
    (reference,) = torch.autograd.grad(
        torch.nn.functional.cross_entropy(exact, y, reduction="sum"), exact
    )
    for i in (0, 3, 4, 5):  # the rows whose exact gradient float64 still holds
        cosine = torch.nn.functional.cosine_similarity(grad[i].double(), reference[i], dim=0)
        assert cosine > 1 - 1e-6, (i, cosine)
    saturated = torch.softmax(z.detach()[1], 0) - torch.nn.functional.one_hot(y[1], 120)
    assert saturated[5] == 0 and grad[1, 5] < -0.99  # float32 lost it; the objective keeps it
