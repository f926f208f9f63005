"""Native APGD-CE, APGD-T, FAB-T and Square against a reference implementation (torchattacks 3.5.1,
a test-only dependency): on the same small seeded models, samples and budget, ours never leaves more
samples robust than the reference does."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.data import builtin as builtin_tasks
from harness.run.api import _resolve_adapter
from harness.suites.adversarial.apgd import apgd
from harness.suites.adversarial.fab import FabSettings, fab_targeted, project_to_hyperplane
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.noise import sample_seeds
from harness.suites.adversarial.square import square
from tests.suites.adversarial import models as M

torchattacks = pytest.importorskip("torchattacks")

CPU = torch.device("cpu")
N = 80


@pytest.fixture(scope="module")
def task():
    return builtin_tasks.digits().head(N)


def _models(task):
    mlp = _resolve_adapter("digits-mlp", task, CPU, Path("."))
    from harness.adapters.torch_module import TorchModuleAdapter

    control = TorchModuleAdapter.from_module(M.control_digits(), name="c", input_shape=(1, 8, 8))
    return {"control": control, "digits-mlp": mlp}


def _ours(fwd, name, norm, eps, x, y, seeds):
    common = {"norm": norm, "eps": eps, "bounds": (0.0, 1.0), "seeds": seeds}
    if name == "apgd_ce":
        return apgd(fwd, x, y, steps=50, restarts=1, loss="ce", **common).found
    if name == "apgd_t":
        return apgd(fwd, x, y, steps=50, restarts=1, loss="dlr_targeted", targets=9, **common).found
    if name == "fab_t":
        adv = fab_targeted(fwd, x, y, settings=FabSettings(steps=50, targets=9), **common)
        with torch.no_grad():
            return fwd.module(adv).argmax(1) != y
    return square(fwd, x, y, queries=300, p_init=0.8, rescale=True, **common).found


def _reference(model, name, norm, eps, x, y):
    norm_name = "Linf" if norm == "linf" else "L2"
    common = {"norm": norm_name, "eps": eps, "seed": 0, "n_restarts": 1}
    if name == "apgd_ce":
        atk = torchattacks.APGD(model, steps=50, loss="ce", **common)
    elif name == "apgd_t":
        atk = torchattacks.APGDT(model, steps=50, n_classes=10, **common)
    elif name == "fab_t":
        atk = torchattacks.FAB(model, steps=50, multi_targeted=True, n_classes=10, **common)
    else:
        atk = torchattacks.Square(model, n_queries=300, p_init=0.8, resc_schedule=True, **common)
    with torch.random.fork_rng():
        adv = atk(x, y)
    with torch.no_grad():
        return model(adv).argmax(1) != y


def _cases() -> list[object]:
    """Every attack at both norms on both models; FAB-T, APGD-T and Square on the MLP in the slow
    set (torchattacks' FAB costs 12-15 s a case, APGD-T and Square on the MLP 1-3 s; the default
    run keeps each attack at both norms on the control, and APGD-CE, whose steps APGD-T shares,
    on the MLP too)."""
    cases = []
    for name in ["apgd_ce", "apgd_t", "fab_t", "square"]:
        for norm, eps in [("linf", 0.1), ("l2", 0.5)]:
            for model_name in ["control", "digits-mlp"]:
                slow = name != "apgd_ce" and model_name == "digits-mlp"
                marks = (pytest.mark.slow,) if slow else ()
                case_id = f"{name}-{norm}-{eps}-{model_name}"
                cases.append(pytest.param(model_name, norm, eps, name, marks=marks, id=case_id))
    return cases


@pytest.mark.parametrize(("model_name", "norm", "eps", "name"), _cases())
def test_native_attack_is_at_least_as_strong_as_torchattacks(task, model_name, norm, eps, name):
    adapter = _models(task)[model_name]
    model = adapter.module().eval().requires_grad_(False)
    fwd = Forward(adapter=adapter, module=model, num_classes=10)
    x, y = task.all_inputs(), torch.as_tensor(task.labels)
    with torch.no_grad():
        correct = model(x).argmax(1) == y
    x, y = x[correct], y[correct]
    ids = [sid for sid, ok in zip(task.sample_ids, correct.tolist(), strict=True) if ok]
    ours = _ours(fwd, name, norm, eps, x, y, sample_seeds(0, ids, name, device=CPU))
    ref = _reference(model, name, norm, eps, x, y)
    assert 0 < int(ref.sum()) < len(x), "the budget should make the reference partly succeed"
    robust_ours, robust_ref = int((~ours).sum()), int((~ref).sum())
    # Each side makes one random start per sample from its own generator, so a sample near the
    # boundary can go either way: one sample of slack (an attack weaker in substance, e.g. a wrong
    # step size or loss, leaves many more samples robust than that).
    assert robust_ours <= robust_ref + 1, (robust_ours, robust_ref, len(x))


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fab_projection_is_the_reference_projection(norm) -> None:
    """FAB's step projects onto a hyperplane within the unit box with the smallest L-inf or L2
    move: the same optimum as the reference's projection where both are feasible."""
    from torchattacks.attacks.fab import projection_l2, projection_linf

    g = torch.Generator().manual_seed(0)
    p = torch.rand(200, 30, generator=g, dtype=torch.float64)
    w = torch.randn(200, 30, generator=g, dtype=torch.float64)
    w[::3, :4] = 0  # some coordinates the hyperplane ignores
    b = (w * torch.rand(200, 30, generator=g, dtype=torch.float64)).sum(1)
    ours = project_to_hyperplane(p, w, b, norm)
    reference = (projection_linf if norm == "linf" else projection_l2)(p.clone(), w.clone(), b)
    q = p + ours
    assert ((q >= -1e-12) & (q <= 1 + 1e-12)).all()
    assert torch.allclose((w * q).sum(1), b, atol=1e-9)
    size = (lambda d: d.abs().amax(1)) if norm == "linf" else (lambda d: d.norm(dim=1))
    assert torch.allclose(size(ours), size(reference), atol=1e-9)
