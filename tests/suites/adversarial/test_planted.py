"""Planted models (issue 15): each is broken down to its honest robust accuracy or raises a flag;
an ordinary model raises none. The honest value of a model whose forward pass is the control's is
the control's own robust accuracy under the same attacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from tests.suites.adversarial import models as M

CONFIG = {"preset": "fast", "epsilons": {"linf": [0.1]}}
HEADLINE = "robust_acc[attack=ensemble/norm=linf/eps=0.1]"


@pytest.fixture(scope="module")
def task():
    return builtin_tasks.digits().head(60)


def _run(factory, task, config=CONFIG):
    a = TorchModuleAdapter.from_module(factory(), name="m", input_shape=(1, 8, 8))
    out = evaluate(
        a, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
    )
    res = out.results["adversarial"]
    head = next(m for m in res.metrics if m.key == HEADLINE)
    return res, head


@pytest.fixture(scope="module")
def honest(task):
    res, head = _run(M.control_digits, task)
    return res, head


def test_an_ordinary_model_raises_no_flag(honest) -> None:
    res, head = honest
    assert res.artifacts["flags"] == [] and head.flags == ()
    assert not any(c["raised"] for c in res.artifacts["checks"]), res.artifacts["checks"]
    assert head.context["preset"] == "fast" and "eot_draws" not in head.context
    assert 0.05 < head.value < 0.9


@pytest.mark.parametrize(
    ("factory", "expected", "rounds"),
    [
        (lambda: M.zero_grad_digits("dense"), {"zero_gradients", "gradient_obfuscation"}, 0),
        (lambda: M.zero_grad_digits("sum"), {"zero_gradients", "gradient_obfuscation"}, 3),
        (M.wrong_surrogate_digits, {"gradient_obfuscation"}, 0),
        (M.quantized_digits, {"zero_gradients"}, 3),
    ],
    ids=["straight-through-dense", "straight-through-sum", "wrong-surrogate", "quantized"],
)
def test_masked_gradients_are_flagged(task, honest, factory, expected, rounds) -> None:
    """The flags, per board and per sample, with the escalation the flags start (`rounds` 3,
    the default) or without it (0: the dense straight-through and the wrong surrogate escalate
    for 10-20x the cost of their checks; the sum variant escalates the same way here, and
    test_escalation.py's slow tests escalate the wrong surrogate to its honest value)."""
    res, head = _run(factory, task, {**CONFIG, "escalation_rounds": rounds})
    assert expected <= set(head.flags), (head.flags, res.artifacts["checks"])
    table = res.table.to_pandas()
    rows = table[table.condition == "attack=ensemble/norm=linf/eps=0.1"]
    assert all(set(expected) <= set(f.split(",")) for f in rows["flags"])  # per-sample flags
    assert any("UNRELIABLE" in n for n in res.notes)
    assert res.artifacts["escalation"]["max_rounds"] == rounds
    assert (len(res.artifacts["escalation"]["rounds"]) > 0) == (rounds > 0)


def test_a_nan_gradient_is_named_in_the_zero_gradients_check(task) -> None:
    """The attacks read a NaN or inf input gradient as zero, so `zero_gradients` counts it; its
    description said only "exactly zero", which sent a user looking for a detached input when
    the model's backward pass returned NaN. It now says how many were not finite."""
    config = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res, head = _run(M.nan_gradient_digits, task, config)
    check = next(c for c in res.artifacts["checks"] if c["flag"] == "zero_gradients")
    assert check["raised"] and check["bad"] == check["n"], check
    assert f"NaN or inf, which the attacks read as zero: {check['n']} of " in check["description"]
    res, _ = _run(lambda: M.zero_grad_digits("dense"), task, config)
    check = next(c for c in res.artifacts["checks"] if c["flag"] == "zero_gradients")
    assert check["raised"] and "NaN" not in check["description"], check


def test_a_gradient_nan_in_some_coordinates_is_flagged(task, honest) -> None:
    """sqrt(x) ** 2 is the control's function, but its input gradient is NaN at every zero
    pixel, which the attacks read as zero: they cannot move those pixels. zero_gradients (the
    whole gradient zero) and gradient_mismatch (along the finite coordinates, honest) counted
    none of it; nonfinite_gradients names it (and escalates: it is a masking flag)."""
    config = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res, head = _run(M.partly_nan_gradient_digits, task, config)
    check = next(c for c in res.artifacts["checks"] if c["flag"] == "nonfinite_gradients")
    assert check["raised"] and check["bad"] == check["n"], check
    assert "nonfinite_gradients" in head.flags
    zero = next(c for c in res.artifacts["checks"] if c["flag"] == "zero_gradients")
    assert zero["bad"] == 0, zero  # the finite coordinates are honest
    control, _ = honest
    check = next(c for c in control.artifacts["checks"] if c["flag"] == "nonfinite_gradients")
    assert not check["raised"] and check["bad"] == 0, check


def test_a_gradient_nan_only_off_the_clean_inputs_is_flagged(task, honest) -> None:
    """A backward pass that is finite at the clean inputs and NaN at some coordinates wherever
    an attack steps: nonfinite_gradients, measured at the clean inputs alone, counted 0 of 60,
    and nothing else named it. It is now measured at the seeded random point of the budget
    around each sample too (one count over both, as gradient_mismatch)."""
    config = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res, head = _run(M.nan_off_grid_gradient_digits, task, config)
    checks = {c["flag"]: c for c in res.artifacts["checks"]}
    check, clean = checks["nonfinite_gradients"], checks["zero_gradients"]["n"]
    assert check["raised"] and check["n"] == 2 * clean, check  # the clean inputs, the points
    assert check["bad"] == clean, check  # every random point has a bright pixel off the grid
    assert "nonfinite_gradients" in head.flags
    control, _ = honest
    check = next(c for c in control.artifacts["checks"] if c["flag"] == "nonfinite_gradients")
    assert not check["raised"] and check["bad"] == 0 and check["n"] == 2 * clean, check


def test_a_gradient_honest_only_at_the_clean_inputs_is_a_mismatch(task, honest) -> None:
    """A surrogate gradient that is the model's own on the clean inputs and another network's
    anywhere else: gradient_mismatch, measured at the clean inputs alone, counted 0 of 55 (the
    zoo's digits-cnn so masked: 0 of 294 there, 280 of 294 at random points of the budget).
    It is now measured at a seeded random point of the budget around each sample too."""
    config = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res, _ = _run(M.grid_honest_surrogate_digits, task, config)
    check = next(c for c in res.artifacts["checks"] if c["flag"] == "gradient_mismatch")
    assert check["raised"], check
    control, _ = honest
    check = next(c for c in control.artifacts["checks"] if c["flag"] == "gradient_mismatch")
    assert not check["raised"] and check["bad"] == 0, check


def test_saturated_logits_are_broken_to_the_honest_value(task, honest) -> None:
    """Scaled logits starve the cross-entropy gradient; the scale-invariant targeted DLR loss of
    APGD-T (and Square's margin) still break the model as far as its honest twin."""
    _, control = honest
    res, head = _run(M.saturated_digits, task)
    assert head.value <= control.value + 1 / 60 or head.flags, (head.value, control.value)


def test_random_noise_model_gets_the_eot_result_with_its_flag(randomised_100) -> None:
    """The logit-noise model with EOT 8 and no escalation (test_escalation.py escalates): the
    run `randomised_100` makes (it ran the same configuration on 60 digits of its own)."""
    res, head = randomised_100
    assert "nondeterministic_forward" in head.flags
    assert head.context["eot_draws"] == 8 and "EOT result" in head.note
    assert res.artifacts["eot_draws"] == 8
    assert any("expectation over transformation (8 draws)" in n for n in res.notes)


def test_a_model_random_only_off_its_clean_inputs_is_found_randomised(task) -> None:
    """Randomised discretisation is deterministic on the digits' clean 1/16 grid and random on
    any perturbed input: a probe of the clean inputs alone took it for deterministic, so every
    decision was one noisy pass (a lucky draw counted as a break) and no record said the model
    was randomised. The probe now also passes random points of the budget around them."""
    config = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "checks": False, "eot_draws": 2}
    res, head = _run(M.randomized_off_grid_digits, task, {**config, "escalation_rounds": 0})
    probe = next(c for c in res.artifacts["checks"] if c["flag"] == "nondeterministic_forward")
    assert probe["raised"], probe
    assert "nondeterministic_forward" in head.flags and head.context["eot_draws"] == 2
    clean = next(m for m in res.metrics if m.metric == "clean_acc")
    assert clean.flags == ("nondeterministic_forward",)


class _Noisy:
    """A randomised model as the probe sees it: logits plus torch's global noise."""

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)[:, :3] + torch.rand(len(x), 3)


def test_the_moved_probe_leaves_torchs_generator_where_it_found_it() -> None:
    """The probe's passes on random points around the clean inputs drew from torch's global
    generator, which a randomised model's noise comes from: every later draw of the attacks
    moved, and a randomised model's numbers with them (FAB-T on the tests' noisy control: 0.433
    where it had been under 0.42). The passes now leave the generator as they found it."""
    from harness.suites.adversarial.suite import _probed

    probe = torch.rand(8, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    model = _Noisy()
    torch.manual_seed(0)
    alone = _probed(model, probe, probe[:0])  # type: ignore[arg-type]
    after_clean = torch.get_rng_state()
    torch.manual_seed(0)
    both = _probed(model, probe, (probe + 0.01).clamp(0, 1))  # type: ignore[arg-type]
    assert torch.equal(torch.get_rng_state(), after_clean)
    assert alone.raised and both.raised and both.n == 2 * alone.n


def test_randomised_models_clean_accuracy_is_flagged_with_one_pass_beside_it(
    randomised_100, honest
) -> None:
    """The clean decisions of a randomised model are the averaged classifier's (mean softmax over
    the EOT draws), far above one pass of the model (MC dropout 0.5 on the tests' MLP: 0.96
    averaged against 0.68 for one pass on 200 digits): the clean_acc record and the clean rows
    carry the flag, and the note gives one pass's accuracy, as the accuracy suite scores it. The
    run `randomised_100` makes (EOT 8, no escalation; it ran the same model without the checks
    on 60 digits of its own)."""
    res, _ = randomised_100
    clean = next(m for m in res.metrics if m.metric == "clean_acc")
    assert clean.flags == ("nondeterministic_forward",) and clean.context["eot_draws"] == 8
    single = float(clean.note.split("was correct on ")[1].split(" ")[0])
    assert single < clean.value - 0.05, (single, clean.value)  # noise of sd 1 on the logits
    table = res.table.to_pandas()
    assert set(table[table.condition == "clean"]["flags"]) == {"nondeterministic_forward"}
    assert any(f"{single:.3f} for one pass" in n for n in res.notes)
    control, _ = honest  # the checks raise nothing on it (test_an_ordinary_model_raises_no_flag)
    clean = next(m for m in control.metrics if m.metric == "clean_acc")
    assert clean.flags == () and clean.note is None


def _nearest_class_mean(classes: int) -> tuple[np.ndarray, np.ndarray, torch.nn.Module]:
    """60 test digits of the first `classes` classes and a linear model scoring each class by
    its (x10) mean image: an honest model with wide logit margins."""
    x, y = builtin_tasks.digits_arrays("test")
    x = np.asarray(x, np.float32).reshape(len(x), 64)
    y = np.asarray(y)
    keep = y < classes
    x, y = x[keep][:60], y[keep][:60]
    means = torch.as_tensor(np.stack([x[y == c].mean(0) for c in range(classes)])) * 10
    model = torch.nn.Linear(64, classes)
    with torch.no_grad():
        model.weight.copy_(means)
        model.bias.copy_(-0.05 * (means * means).sum(1))
    return x, y, model


def test_a_confident_robust_model_is_not_flagged_for_a_flat_loss() -> None:
    """A nearest-class-mean linear model with large logit margins (17 to 26 on the samples PGD
    cannot break): the float32 cross-entropy of such a sample is 0 and its float64 one around
    1e-10 to 1e-7, so a rise by an absolute 1e-6 never came and `loss_not_increasing` flagged 11
    of 57 honest samples. The loss now rises relative to its start, in float64."""
    x, y, model = _nearest_class_mean(classes=10)
    config = {"preset": "fast", "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res = evaluate(
        model, data=(x, y), bounds=(0.0, 1.0), suites={"adversarial": config}, device="cpu"
    ).results["adversarial"]
    flat = next(c for c in res.artifacts["checks"] if c["flag"] == "loss_not_increasing")
    assert flat["n"] > 50 and flat["bad"] <= 2 and not flat["raised"], flat
    assert res.artifacts["flags"] == []


def test_a_confident_model_with_many_classes_is_not_flagged_for_a_flat_loss() -> None:
    """120 classes, each a random prototype image, and a linear model scoring each prototype
    (x10): the float32 cross-entropy's gradient of a confidently correct sample loses its
    true-class term (p_y - 1 rounds to 0), so PGD only raised the other logits, which raised the
    true one more; the loss fell and `loss_not_increasing` flagged 16 of 60 honest samples. The
    check's PGD now ascends the log of the float64 cross-entropy (the same direction, no
    saturation)."""
    rng = np.random.default_rng(0)
    classes = 120
    protos = rng.random((classes, 64)).astype(np.float32)
    y = np.arange(60) % classes
    x = np.clip(protos[y] + 0.05 * rng.standard_normal((60, 64)), 0, 1).astype(np.float32)
    model = torch.nn.Linear(64, classes)
    with torch.no_grad():
        weight = torch.as_tensor(protos) * 10
        model.weight.copy_(weight)
        model.bias.copy_(-0.5 * (weight * torch.as_tensor(protos)).sum(1))
    config = {"preset": "fast", "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    res = evaluate(
        model,
        data=(x, y),
        bounds=(0.0, 1.0),
        num_classes=classes,
        suites={"adversarial": config},
        device="cpu",
    ).results["adversarial"]
    flat = next(c for c in res.artifacts["checks"] if c["flag"] == "loss_not_increasing")
    assert flat["n"] == 60 and flat["bad"] <= 1 and not flat["raised"], flat
    assert res.artifacts["flags"] == []


def test_a_batch_dependent_model_is_flagged_with_a_note(task, honest) -> None:
    """An input's logits that move with the rest of its batch make every number depend on how
    the suite batches samples: flagged (exact probe: the same rows at the same batch size beside
    other rows), with a note naming the cause; the control and its twins are not."""
    config = {**CONFIG, "escalation_rounds": 0}
    res, head = _run(M.batch_centred_digits, task, config)
    probe = next(c for c in res.artifacts["checks"] if c["flag"] == "batch_dependent_forward")
    assert probe["raised"] and probe["bad"] == probe["n"] > 20, probe
    assert "batch_dependent_forward" in head.flags
    assert any("change with the other inputs of its batch" in n for n in res.notes)
    control, _ = honest
    probe = next(c for c in control.artifacts["checks"] if c["flag"] == "batch_dependent_forward")
    assert not probe["raised"] and probe["n"] > 20


@pytest.fixture(scope="module")
def randomised_100():
    """The logit-noise model on 100 digits with the checks (EOT 8, no escalation): read by four
    tests, each about a different record of the same run (one run, ~2.5-4 s CPU)."""
    task = builtin_tasks.digits().head(100)
    return _run(M.randomized_digits, task, {**CONFIG, "eot_draws": 8, "escalation_rounds": 0})


def test_randomised_model_samples_are_attacked_past_their_first_noisy_break(randomised_100) -> None:
    """A randomised model's decision is noisy: APGD and PGD stopped a sample at its first
    misclassified iterate, which a fresh EOT verification then called correct about a third of
    the time (APGD-CE on MC dropout 0.5: 110 of 178 confirmed), so the unbounded PGD of the
    checks "failed" on 14 to 28 of about 80 samples, a flag the model did not earn. They now keep
    ascending and keep their latest misclassified iterate: no unbounded failure."""
    res, head = randomised_100
    unbounded = next(c for c in res.artifacts["checks"] if c["flag"] == "unbounded_attack_fails")
    assert unbounded["bad"] == 0 and "unbounded_attack_fails" not in head.flags, unbounded


def test_a_randomised_models_numbers_do_not_depend_on_what_ran_before(task) -> None:
    """The model draws from torch's global generator; the suite seeds it per job (from the run
    seed, the model and the task) and puts it back, so the same job gives the same numbers
    whatever used the generator before, and leaves the caller's generator where it was."""
    # one attack: each of its EOT decisions draws the model's noise (the fast preset: 5x the CPU)
    config = {
        "attacks": ["linf_pgd"],
        "epsilons": {"linf": [0.1]},
        "eot_draws": 4,
        "escalation_rounds": 0,
        "checks": False,
    }
    model = TorchModuleAdapter.from_module(M.randomized_digits(), name="m", input_shape=(1, 8, 8))

    def numbers():
        out = evaluate(
            model, task=task, suites={"adversarial": config}, device="cpu", bootstrap_resamples=0
        )
        table = out.results["adversarial"].table.to_pandas()
        return table["prediction"].tolist(), table["correct"].tolist()

    first = numbers()
    torch.rand(12345)  # another job, another model
    state = torch.random.get_rng_state()
    assert numbers() == first
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_two_class_model_with_wide_margins_is_not_flagged_for_a_flat_loss() -> None:
    """Digits 0 and 1 under a nearest-class-mean linear model: margins of 35-50 on the samples
    PGD cannot break, where logsumexp(l) - l_y rounds to exactly 0 even in float64, so 28 of 59
    honest samples "never rose" and `loss_not_increasing` was raised (5 of 59 remain, below
    the check's critical count). The check's loss is log1p(sum exp(l_j - l_y)), which keeps
    such a loss positive."""
    x, y, model = _nearest_class_mean(classes=2)
    config = {"preset": "fast", "epsilons": {"linf": [0.1]}, "check_samples": 60}
    res = evaluate(
        model,
        data=(x, y),
        bounds=(0.0, 1.0),
        num_classes=2,
        suites={"adversarial": config},
        device="cpu",
        bootstrap_resamples=0,
    ).results["adversarial"]
    flat = next(c for c in res.artifacts["checks"] if c["flag"] == "loss_not_increasing")
    assert flat["n"] > 50 and flat["bad"] < flat["critical"] and not flat["raised"], flat
    assert "loss_not_increasing" not in res.artifacts["flags"]


PARAMS = {"linf_square": {"queries": 1000}, "linf_fab_t": {}}  # Square: a quicker test


@pytest.mark.slow  # escalated attacks on a randomised model (make test-slow; CI runs it)
@pytest.mark.parametrize(
    ("attack", "before"),
    [("linf_square", 0.60), ("linf_fab_t", 0.42)],
    ids=["square", "fab-t"],
)
def test_square_and_fab_break_a_randomised_model_as_far_as_its_twin(task, attack, before) -> None:
    """Square and FAB-T on a randomised model (the control plus logit noise), alone, against
    the control's own number. Square compared each proposal with the luckiest draw of its best
    point so far and stopped a sample at its first noisy break: a fresh verification confirmed
    about 15% of its breaks, and it left 0.62 to 0.68 robust on 100 digits where the control
    under the same attack is at 0.38 (5,000 queries). It now scores proposal and best point under the same draws
    of the model's noise and keeps attacking: 0.35 to 0.44. FAB-T stopped at its first noisy
    break, just past the boundary (42% confirmed): 0.45 to 0.48; now 0.37 to 0.43 (control
    0.33). `before` separates the two on these 60 samples (Square at 1,000 queries: 0.65
    before)."""
    params = {attack: PARAMS[attack]}
    config = {"attacks": [attack], "epsilons": {"linf": [0.1]}, "checks": False, "params": params}
    randomised = {**config, "eot_draws": 8, "escalation_rounds": 0}
    res, head = _run(M.randomized_digits, task, randomised)
    _, control = _run(M.control_digits, task, config)
    assert "nondeterministic_forward" in head.flags
    assert head.value < before, (head.value, control.value)
    assert head.value <= control.value + 0.12, (head.value, control.value)


def test_an_honest_randomised_model_raises_no_masking_flag(randomised_100) -> None:
    """The extra attacks of the checks (random noise, the stronger attack, Square after the
    gradient attacks) are verified by one noisy EOT decision, as the ensemble is: on the tests'
    logit-noise model an attack no stronger than the ensemble "broke" 5 to 15 of about 80 check
    samples the ensemble left (threshold 3 or 4) by luck of the draw, and the flags sent the
    escalation down the masked-gradient route. A randomised model's extra break now counts only
    when five fresh verifications confirm it."""
    res, head = randomised_100
    counts = {c["flag"]: (c["bad"], c["critical"]) for c in res.artifacts["checks"]}
    assert head.flags == ("nondeterministic_forward",), counts


def test_a_masked_randomised_model_is_still_flagged() -> None:
    """A randomised model whose gradient misleads (the wrong surrogate plus logit noise): Square
    still breaks samples every gradient attack missed, confirmed by fresh verifications (5 of 82,
    threshold 3; 0 to 5 over four run seeds, where the honest twin has none), so `gradient_obfuscation` stands and the escalation runs."""
    task = builtin_tasks.digits().head(100)
    config = {**CONFIG, "eot_draws": 8, "escalation_rounds": 0}
    res, head = _run(M.randomized_surrogate_digits, task, config)
    check = next(c for c in res.artifacts["checks"] if c["flag"] == "gradient_obfuscation")
    assert check["raised"], check
    assert "gradient_obfuscation" in head.flags
