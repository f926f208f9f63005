"""The adversarial suite: budgets, config errors, PGD vs a reference loop, ensemble accounting,
validity checks firing on deliberately broken models (and staying quiet on a control), black-box
fallback, bad inputs, determinism and the CLI leaderboard's UNRELIABLE marking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.cli.main import main
from harness.core.adapter import Capabilities
from harness.core.errors import ConfigError, DatasetError
from harness.data import builtin as builtin_tasks
from harness.run.api import evaluate
from harness.suites.adversarial import AdversarialSuite, blackbox
from harness.suites.adversarial.budgets import check_budgets, parse_eps
from harness.suites.adversarial.forward import Forward
from harness.suites.adversarial.noise import sample_seeds, start_noise
from harness.suites.adversarial.pgd import pgd
from harness.suites.adversarial.verification import verify
from tests.suites.adversarial import models as M

LINF = {"attacks": ["fgsm", "linf_pgd"], "epsilons": {"linf": [0.05, 0.1]}}


@pytest.fixture(scope="module")
def digits():
    return builtin_tasks.digits().head(100)


def adapter(factory, name: str | None = None) -> TorchModuleAdapter:
    return TorchModuleAdapter.from_module(
        factory(), name=name or factory.__name__, input_shape=(1, 8, 8)
    )


def run(model, task, config=LINF, seed: int = 0):
    out = evaluate(
        model,
        task=task,
        suites={"adversarial": config},
        device="cpu",
        bootstrap_resamples=100,
        seed=seed,
    )
    return out


def checks(result) -> dict[str, bool]:
    return {c["flag"]: c["raised"] for c in result.artifacts["checks"]}


# --- budgets and config -------------------------------------------------------------------
def test_eps_parsing_and_refusals() -> None:
    assert parse_eps("8/255", key="k") == pytest.approx(8 / 255)
    assert parse_eps(0.1, key="k") == 0.1
    for bad in (-0.1, 0, "abc", "1/0", float("nan")):
        with pytest.raises(ConfigError, match="k"):
            parse_eps(bad, key="k")
    with pytest.raises(
        ConfigError, match=r"epsilons\.linf: eps 8 is at least the whole input range"
    ):
        check_budgets({"linf": [8.0]}, bounds=(0.0, 1.0), input_shape=(1, 8, 8), task="digits")
    with pytest.raises(ConfigError, match=r"epsilons\.l2"):
        check_budgets({"l2": [9.0]}, bounds=(0.0, 1.0), input_shape=(1, 8, 8), task="digits")
    check_budgets({"linf": [0.1], "l2": [7.9]}, bounds=(0.0, 1.0), input_shape=(1, 8, 8), task="d")


def test_absurd_budget_refused_at_run(digits) -> None:
    with pytest.raises(ConfigError, match="eps 8 is at least"):
        run(adapter(M.control_digits), digits, {"attacks": ["linf_pgd"], "epsilons": {"linf": [8]}})


# --- PGD against a reference loop -----------------------------------------------------------
def reference_pgd(model, x, y, eps, steps, rel):
    """Plain Madry L-inf PGD without random start; success if any iterate is misclassified."""
    xa, hit = x.clone(), torch.zeros(len(x), dtype=torch.bool)
    for _ in range(steps):
        xa.requires_grad_(True)
        logits = model(xa)
        hit |= logits.argmax(1) != y
        (g,) = torch.autograd.grad(
            torch.nn.functional.cross_entropy(logits, y, reduction="sum"), xa
        )
        xa = torch.min(
            torch.max(xa.detach() + rel * eps / steps * g.sign(), x - eps), x + eps
        ).clamp(0, 1)
    return hit | (model(xa).argmax(1) != y)


def forward_of(model: torch.nn.Module) -> Forward:
    a = TorchModuleAdapter.from_module(model, name="m", input_shape=(1, 8, 8))
    return Forward(adapter=a, module=a.module(), num_classes=10)


def test_pgd_matches_reference_and_keeps_adversarial_iterates(digits) -> None:
    model = M.control_digits().requires_grad_(False)
    x, y = digits.all_inputs(), torch.as_tensor(digits.labels)
    seeds = sample_seeds(0, digits.sample_ids, "t", device=torch.device("cpu"))
    res = pgd(
        forward_of(model),
        x,
        y,
        norm="linf",
        eps=0.1,
        steps=10,
        rel_stepsize=2.5,
        restarts=1,
        random_start=False,
        bounds=(0.0, 1.0),
        seeds=seeds,
    )
    ref = reference_pgd(model, x, y, 0.1, 10, 2.5)
    assert torch.equal(res.found, ref)
    assert 20 < int(ref.sum()) < len(x)  # a real, partial attack
    assert (model(res.adv[res.found]).argmax(1) != y[res.found]).all()
    assert (res.adv - x).abs().amax() <= 0.1 + 1e-6
    l2 = pgd(
        forward_of(model),
        x,
        y,
        norm="l2",
        eps=0.5,
        steps=10,
        rel_stepsize=2.5,
        restarts=2,
        random_start=True,
        bounds=(0.0, 1.0),
        seeds=seeds,
    )
    assert ((l2.adv - x).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()
    assert (l2.adv >= 0).all() and (l2.adv <= 1).all()


# --- suite results on an honest control -------------------------------------------------------
def test_control_results_are_consistent_and_unflagged(digits) -> None:
    config = {
        "attacks": ["fgsm", "linf_pgd", "linf_apgd_t", "linf_deepfool", "l2_pgd", "l2_cw"],
        "epsilons": {"linf": [0.05, "1/10"], "l2": [0.5]},
        "minimization_max_samples": 60,
        "params": {
            "l2_cw": {"steps": 30, "binary_search_steps": 3},
            "linf_apgd_t": {"steps": 20, "targets": 3},
        },
    }
    res = run(adapter(M.control_digits), digits, config).results["adversarial"]
    assert not any(checks(res).values()), res.artifacts["checks"]
    assert res.artifacts["flags"] == []
    frame = res.table.to_pandas()
    clean = frame[frame.condition == "clean"].set_index("sample_id")["correct"]
    heads = {m.condition: m for m in res.metrics if m.headline}
    assert set(heads) == {
        "attack=ensemble/norm=linf/eps=0.05",
        "attack=ensemble/norm=linf/eps=0.1",
        "attack=ensemble/norm=l2/eps=0.5",
    }
    lo = frame[frame.condition == "attack=ensemble/norm=linf/eps=0.05"].set_index("sample_id")[
        "correct"
    ]
    hi = frame[frame.condition == "attack=ensemble/norm=linf/eps=0.1"].set_index("sample_id")[
        "correct"
    ]
    assert not (hi & ~lo).any() and not (lo & ~clean).any()  # cumulative and never above clean
    for cond in ("attack=fgsm/eps=0.1", "attack=linf_pgd/eps=0.1"):
        per = frame[frame.condition == cond].set_index("sample_id")["correct"]
        assert not (hi & ~per).any()  # the ensemble is below every point of the cascade
    assert (
        heads["attack=ensemble/norm=linf/eps=0.1"].value
        < heads["attack=ensemble/norm=linf/eps=0.05"].value
    )
    assert heads["attack=ensemble/norm=linf/eps=0.1"].ci is not None
    med = {m.context["attack"]: m for m in res.metrics if m.metric == "min_norm_median"}
    assert med["linf_deepfool"].n == 60 and 0 < med["linf_deepfool"].value < 0.5
    assert res.artifacts["attacks"]["l2_cw"]["params"]["steps"] == 30
    assert res.artifacts["attacks"]["linf_pgd"]["params"]["rel_stepsize"] == 2.5
    assert any("subset of 60 of 100" in n and "not part" in n for n in res.notes)
    assert res.artifacts["ensemble"] == {
        "linf": ["fgsm", "linf_pgd", "linf_apgd_t"],
        "l2": ["l2_pgd"],
    }
    assert res.artifacts["subsets"]["minimization"] == {
        "purpose": "adversarial/minimization",
        "n": 60,
        "of": 100,
    }
    broken = frame[(frame.condition == "attack=linf_pgd/eps=0.1") & frame.attack_success]
    assert (broken.perturbation_norm <= 0.1 + 1e-5).all() and len(broken) > 0


def test_rerun_is_identical_and_seed_matters(digits) -> None:
    config = {
        "attacks": ["linf_pgd"],
        "epsilons": {"linf": [0.1]},
        "checks": False,
        "params": {"linf_pgd": {"steps": 2, "restarts": 2}},
    }
    a = run(adapter(M.control_digits), digits, config).results["adversarial"].table.to_pandas()
    b = run(adapter(M.control_digits), digits, config).results["adversarial"].table.to_pandas()
    assert a.equals(b)
    c = run(adapter(M.control_digits), digits, config, seed=1).results["adversarial"]
    assert not a.equals(c.table.to_pandas())


def test_batch_size_does_not_change_pgd_results(digits) -> None:
    """Random starts are per sample (hashed from its seed), so batching cannot change results."""
    config = {
        "attacks": ["linf_pgd", "l2_pgd"],
        "epsilons": {"linf": [0.1], "l2": [0.5]},
        "checks": False,
        "params": {"linf_pgd": {"steps": 3}, "l2_pgd": {"steps": 3}},
    }
    tables = [
        evaluate(
            adapter(M.control_digits),
            task=digits,
            suites={"adversarial": config},
            device="cpu",
            batch_size=bs,
            bootstrap_resamples=0,
        )
        .results["adversarial"]
        .table.to_pandas()
        for bs in (100, 37)
    ]
    assert tables[0].equals(tables[1])


def test_counter_rng_start_noise_is_per_sample_and_well_spread() -> None:
    seeds = sample_seeds(0, [f"s{i}" for i in range(400)], device=torch.device("cpu"))
    box = start_noise((1, 8, 8), "linf", seeds)
    assert box.shape == (400, 1, 8, 8) and box.abs().max() <= 1
    assert abs(float(box.mean())) < 0.02 and abs(float(box.std()) - (1 / 3) ** 0.5) < 0.02
    sub = start_noise((1, 8, 8), "linf", seeds.flip(0)[:7])
    assert torch.equal(sub, box.flip(0)[:7])  # a row depends on its own seed only
    assert not torch.equal(box[0], box[1])
    assert not torch.equal(start_noise((1, 8, 8), "linf", seeds, 1), box)  # streams differ
    ball = start_noise((1, 8, 8), "l2", seeds)
    radii = ball.flatten(1).norm(dim=1)
    assert (radii <= 1 + 1e-6).all() and float(radii.median()) > 0.95  # uniform in the ball
    assert abs(float(ball.flatten(1)[:, 0].mean())) < 0.03


def test_parameters_are_frozen_during_attacks_and_restored(digits) -> None:
    seen: list[bool] = []
    net = M.control_digits()
    net.register_forward_pre_hook(  # passes without autograd (the job notes' look) build no graph
        lambda mod, _: seen.append(
            torch.is_grad_enabled() and any(p.requires_grad for p in mod.parameters())
        )
    )
    a = adapter(lambda: net, "thawed")
    a.module().requires_grad_(True)  # an adapter that hands out a trainable module
    # the suite freezes around all it runs, the escalation included (off: it is not the point)
    config = {"attacks": ["fgsm", "linf_pgd"], "epsilons": {"linf": [0.1]}, "escalation_rounds": 0}
    run(a, digits.head(20), config)
    assert seen and not any(seen)
    assert all(p.requires_grad and p.grad is None for p in net.parameters())


def test_verification_skips_unchanged_candidates_only(digits) -> None:
    a = adapter(M.control_digits)
    rows: list[int] = []
    inner = a.logits

    def counting(x):
        rows.append(len(x))
        return inner(x)

    a.logits = counting  # type: ignore[method-assign]
    x, y = digits.all_inputs()[:10], torch.as_tensor(digits.labels[:10])
    cand = x.clone()
    cand[:3] = (cand[:3] + 0.05).clamp(0, 1)
    cand[3] = float("nan")
    clean = inner(x)
    v = verify(
        a.logits,
        x,
        cand,
        y,
        norm="linf",
        eps=0.1,
        bounds=(0.0, 1.0),
        clean_prediction=clean.argmax(1),
        clean_confidence=torch.softmax(clean.double(), 1).amax(1),
    )
    assert rows == [4]  # three perturbed + one non-finite; six unchanged rows reuse the clean pass
    assert v.changed.tolist() == [True] * 4 + [False] * 6
    assert not v.valid[3] and v.reasons == {"non_finite_input": 1}
    assert torch.equal(v.prediction[4:], clean.argmax(1)[4:])
    assert torch.equal(v.prediction[:3], inner(cand[:3]).argmax(1))


# --- validity checks fire on broken models ----------------------------------------------------
@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        (
            M.quantized_digits,
            {
                "zero_gradients",
                "loss_not_increasing",
                "unbounded_attack_fails",
                "noise_beats_gradient",
            },
        ),
        (M.probability_digits, {"probability_outputs", "zero_gradients"}),
        (M.randomized_digits, {"nondeterministic_forward"}),
    ],
)
def test_checks_fire_on_broken_models(digits, factory, expected) -> None:
    """The randomised model on 30 of the digits: its probe differs on every sample, and its
    EOT attacks cost 5 s of CPU on 100."""
    config = {**LINF, "eot_draws": 4, "escalation_rounds": 0}  # the flags are the point here
    task = digits.head(30) if factory is M.randomized_digits else digits
    res = run(adapter(factory), task, config).results["adversarial"]
    raised = {f for f, r in checks(res).items() if r}
    assert expected <= raised, raised
    for m in res.metrics:
        if m.metric == "robust_acc":
            assert expected <= set(m.flags)
    assert any("UNRELIABLE" in n for n in res.notes)


def test_weak_attack_config_is_caught_by_the_stronger_attack_check(digits) -> None:
    weak = {
        "attacks": ["linf_pgd"],
        "epsilons": {"linf": [0.1]},
        "params": {"linf_pgd": {"steps": 1, "rel_stepsize": 0.2, "random_start": False}},
        "escalation_rounds": 0,  # the flag is the point here
    }
    res = run(adapter(M.control_digits), digits, weak).results["adversarial"]
    assert checks(res)["stronger_attack_lowers_acc"]


def test_nan_under_perturbation_is_invalid_not_a_success(digits) -> None:
    res = run(adapter(M.nan_off_grid_digits), digits).results["adversarial"]
    assert "invalid_adversarials" in res.artifacts["flags"]
    assert res.artifacts["invalid_adversarials"]["linf_pgd/eps=0.1"]["non_finite_logits"] > 0
    frame = res.table.to_pandas()
    assert not frame[frame.condition != "clean"].attack_success.any()
    assert not checks(res)["noise_beats_gradient"]  # NaN outputs never count as breaks


# --- capabilities and bad inputs --------------------------------------------------------------
class _NoGrad(TorchModuleAdapter):
    def __init__(self, inner: TorchModuleAdapter) -> None:
        self.__dict__.update(inner.__dict__)
        self.capabilities = Capabilities(gradients=False)

    def module(self) -> torch.nn.Module:
        raise AssertionError("a black-box adapter's module() must not be called")


def test_blackbox_adapter_falls_back_to_decision_attack_or_refuses(digits) -> None:
    small = digits.head(12)
    config = {
        "attacks": ["linf_pgd", "l2_pgd"],
        "epsilons": {"linf": [0.1], "l2": [1.0]},
        "params": {},
    }
    res = run(_NoGrad(adapter(M.control_digits, "bb")), small, config).results["adversarial"]
    assert any("exposes no gradients" in n and "linf_hopskipjump" in n for n in res.notes)
    assert set(res.artifacts["attacks"]) == {"linf_hopskipjump", "l2_hopskipjump"}
    assert res.artifacts["white_box"] is False
    robust = {m.condition: m.value for m in res.metrics if m.headline}
    clean = next(m.value for m in res.metrics if m.metric == "clean_acc")
    assert all(v <= clean for v in robust.values())
    refused = run(
        _NoGrad(adapter(M.control_digits, "bb")),
        small,
        {**config, "allow_blackbox_fallback": False},
    )
    assert "allow_blackbox_fallback is false" in refused.skipped["adversarial"]


def test_text_task_is_attacked_not_skipped(digits) -> None:
    suite = AdversarialSuite({})  # text tasks get the text attacks (suites/adversarial/text)
    text = replace(digits, modality="text", bounds=None)
    assert suite.skip_reason(adapter(M.control_digits), text) is None


def test_inputs_outside_bounds_are_refused_before_attacking(digits) -> None:
    narrow = replace(digits, name="digits-narrow", bounds=(0.0, 0.5))
    with pytest.raises(DatasetError, match=r"outside the declared bounds \[0.0, 0.5\]"):
        run(
            adapter(M.control_digits),
            narrow,
            {"attacks": ["linf_pgd"], "epsilons": {"linf": [0.1]}},
        )


def test_tabular_task_runs(digits) -> None:
    task = builtin_tasks.diabetes()
    model = torch.nn.Linear(10, 2)
    torch.nn.init.constant_(model.weight, 0.5)
    a = TorchModuleAdapter.from_module(model, name="tab", input_shape=(10,), modality="tabular")
    res = run(a, task, {"attacks": ["fgsm", "linf_pgd"], "epsilons": {"linf": [0.05]}}).results[
        "adversarial"
    ]
    assert {m.condition for m in res.metrics if m.headline} == {
        "attack=ensemble/norm=linf/eps=0.05"
    }
    assert len(res.table.condition("attack=linf_pgd/eps=0.05")) == len(task)


# --- CLI: flags reach the leaderboard -------------------------------------------------------
def test_cli_leaderboard_marks_flagged_model_unreliable(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: adv\nseed: 0\ndevice: cpu\nlimit: 40\nbootstrap_resamples: 100\ntasks: [digits]\n"
        "models:\n"
        "  - {name: control, factory: 'tests.suites.adversarial.models:control_digits', input_shape: [1, 8, 8]}\n"
        "  - {name: masked, factory: 'tests.suites.adversarial.models:quantized_digits', input_shape: [1, 8, 8]}\n"
        # the flag on the board is the point here: no escalation (1.3 s of the 3.1-3.7 s)
        "suites:\n  adversarial: {attacks: [linf_pgd], epsilons: {linf: ['8/255']}, "
        "escalation_rounds: 0}\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(tmp_path / "out"), "--width", "0"]) == 0
    out = capsys.readouterr().out
    masked = [line for line in out.splitlines() if "masked" in line]
    control = [line for line in out.splitlines() if "control" in line]
    assert masked and control, out
    assert "UNRELIABLE" in masked[0] and "zero_gradients" in masked[0], out
    assert "UNRELIABLE" not in control[0], out


def test_decision_starts_are_nearest_other_class_samples() -> None:
    x = torch.tensor([[0.0], [0.1], [0.9], [1.0], [0.5]])
    y = torch.tensor([0, 0, 1, 1, 1])
    pred = torch.tensor([0, 0, 1, 1, 0])  # the last sample is misclassified
    starts, usable = blackbox.decision_starts(x, y, pred, lambda xs: (xs[:, 0] > 0.45).long())
    assert starts[:4, 0].tolist() == pytest.approx([0.9, 0.9, 0.5, 0.5])
    # sample 2's nearest other-class start (0.5) is classified 1 = its label by `classify`
    assert usable.tolist() == [True, True, False, False, False]


def test_failing_decision_attack_flags_the_model_instead_of_failing(digits, monkeypatch) -> None:
    def broken_foolbox(*args, **kwargs):
        raise AssertionError  # what HopSkipJump raises when boundary points stop being adversarial

    monkeypatch.setattr(blackbox, "run_foolbox", broken_foolbox)
    res = run(
        _NoGrad(adapter(M.control_digits, "bb")),
        digits.head(12),
        {"attacks": ["linf_hopskipjump"], "epsilons": {"linf": [0.1]}},
    ).results["adversarial"]
    assert "decision_attack_failed" in res.artifacts["flags"]
    assert res.artifacts["failed_attacks"] == {"linf_hopskipjump": ["AssertionError"]}
    assert all("decision_attack_failed" in m.flags for m in res.metrics if m.headline)


@pytest.mark.parametrize(
    ("extra", "suite", "budgets", "note"),
    [
        # the default: digits' headline threat model, one budget, no note
        (
            "",
            "{preset: fast, check_samples: 20}",
            "1 budget(s): linf 0.1 (the task's headline",
            None,
        ),
        # a task without a headline threat model: the suite's four default budgets, noted
        (
            "headline: {digits: {}}\n",
            "{preset: fast, check_samples: 20}",
            "4 budget(s): linf 0.05, 0.1; l2 0.5, 1 (the suite's default for a task without",
            "4 budget(s) per model, a column each (linf 0.05, 0.1; l2 0.5, 1): the suite's default",
        ),
        # a spec listing several budgets: noted as listed
        (
            "",
            "{preset: fast, check_samples: 20, epsilons: {linf: [0.05, 0.1]}}",
            "2 budget(s): linf 0.05, 0.1 (from the spec)",
            "2 budget(s) per model, a column each (linf 0.05, 0.1): as the spec lists them",
        ),
    ],
)
def test_run_announces_the_plan_and_the_board_says_how_many_budgets(
    tmp_path: Path, capsys, extra: str, suite: str, budgets: str, note: str | None
) -> None:
    """`harness run` prints what the adversarial suite will run and its cost before it starts;
    the board says when each model ran several budgets, and where they come from."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: adv\nseed: 0\ndevice: cpu\nlimit: 30\nbootstrap_resamples: 0\ntasks: [digits]\n"
        + extra
        + "models:\n"
        "  - {name: control, factory: 'tests.suites.adversarial.models:control_digits', input_shape: [1, 8, 8]}\n"
        f"suites:\n  adversarial: {suite}\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--width", "0"]) == 0
    err = capsys.readouterr().err
    plan = err[: err.index("results:")]
    assert "  adversarial: preset fast (linf_apgd_ce, linf_apgd_t, linf_square" in plan
    assert budgets in plan
    assert "\n    cost per model and task: up to" in plan  # under what runs, indented
    from harness.analysis.leaderboard import build_boards
    from harness.run.suite_boards import installed_suite_boards

    (board,) = build_boards(tmp_path / "out", task="digits", suite_boards=installed_suite_boards())
    notes = [n for n in board.notes if "budget(s) per model" in n]
    if note is None:
        assert notes == [], board.notes
    else:
        assert len(notes) == 1 and notes[0].startswith(f"adversarial: settings: {note}"), notes
