"""Resolving the adversarial config (epsilons, attacks, parameters) and the per-model plan."""

from __future__ import annotations

import pytest

from adapters.torch_module import TorchModuleAdapter
from harness.core.adapter import Capabilities
from harness.core.errors import ConfigError
from suites.adversarial import AdversarialSuite
from suites.adversarial.config import AdversarialConfig, plan_attacks, resolve_config
from tests.suites.adversarial import models as M


def _adapter(gradients: bool) -> TorchModuleAdapter:
    a = TorchModuleAdapter.from_module(M.control_digits(), name="m", input_shape=(1, 8, 8))
    if not gradients:
        a.capabilities = Capabilities(gradients=False)
    return a


def test_epsilons_are_sorted_unique_and_read_fractions() -> None:
    cfg = AdversarialConfig(attacks=["linf_pgd"], epsilons={"linf": [0.1, "8/255", 0.1]})
    resolved = resolve_config(cfg)
    assert resolved.epsilons == {"linf": [8 / 255, 0.1]}
    assert [i.name for i in resolved.attacks] == ["linf_pgd"]
    assert resolved.params["linf_pgd"]["steps"] == 10  # catalogue default


def test_white_box_plan_runs_the_configured_attacks() -> None:
    cfg = AdversarialConfig(attacks=["fgsm", "linf_pgd", "l2_cw"])
    assert cfg.preset == "custom"  # an explicit list is the custom preset
    plan = plan_attacks(resolve_config(cfg), cfg, _adapter(gradients=True))
    assert plan.white_box and plan.notes == () and plan.preset == "custom"
    assert [i.name for i in plan.infos] == cfg.attacks


def test_default_is_the_standard_preset_per_norm() -> None:
    resolved = resolve_config(AdversarialConfig())
    assert resolved.preset == "standard"
    assert [i.name for i in resolved.attacks] == [
        "linf_apgd_ce",
        "linf_apgd_t",
        "linf_fab_t",
        "linf_square",
        "l2_apgd_ce",
        "l2_apgd_t",
        "l2_fab_t",
        "l2_square",
    ]
    assert resolved.params["linf_apgd_t"]["targets"] == 9
    assert resolved.params["linf_fab_t"]["targets"] == 9
    assert resolved.params["linf_apgd_ce"]["steps"] == 100
    assert resolved.params["l2_square"]["queries"] == 5000
    fast = resolve_config(AdversarialConfig(preset="fast", epsilons={"linf": [0.1]}))
    assert [i.name for i in fast.attacks] == ["linf_apgd_ce", "linf_apgd_t", "linf_square"]
    assert fast.params["linf_square"]["queries"] < 5000


def test_params_override_a_preset_and_change_the_fingerprint() -> None:
    base = AdversarialSuite({"preset": "fast"})
    tuned = AdversarialSuite({"preset": "fast", "params": {"linf_square": {"queries": 50}}})
    assert tuned.resolved.params["linf_square"]["queries"] == 50
    assert tuned.resolved.params["linf_square"]["p_init"] == 0.8  # the rest kept
    assert base.config_hash != tuned.config_hash
    assert AdversarialSuite({}).config_hash != base.config_hash  # the preset is in the hash


def test_black_box_plan_replaces_gradient_attacks_per_norm() -> None:
    cfg = AdversarialConfig(
        attacks=["fgsm", "linf_pgd", "l2_pgd"],
        blackbox_attack="boundary",
        params={"l2_boundary": {"steps": 7}},
    )
    plan = plan_attacks(resolve_config(cfg), cfg, _adapter(gradients=False))
    assert not plan.white_box
    assert [i.name for i in plan.infos] == ["linf_hopskipjump", "l2_boundary"]
    assert plan.params["l2_boundary"]["steps"] == 7
    (note,) = plan.notes
    assert "['fgsm', 'linf_pgd', 'l2_pgd'] did not run" in note


def test_black_box_plan_keeps_square_and_needs_no_decision_attack() -> None:
    cfg = AdversarialConfig(preset="fast", epsilons={"linf": [0.1]})
    plan = plan_attacks(resolve_config(cfg), cfg, _adapter(gradients=False))
    assert [i.name for i in plan.infos] == ["linf_square"]  # score-based: logits only


@pytest.mark.parametrize(
    ("config", "pattern"),
    [
        (
            {"attacks": ["linf_pdg"]},
            r"suites\.adversarial\.attacks: unknown attack 'linf_pdg'; did you mean 'linf_pgd'",
        ),
        ({"epsilons": {"Linf": [0.1]}}, r"epsilons\.Linf: unknown norm; did you mean 'linf'"),
        ({"attacks": ["l2_pgd"], "epsilons": {"linf": [0.1]}}, r"epsilons\.l2: attack 'l2_pgd'"),
        (
            {"attacks": ["linf_pgd"], "epsilons": {"linf": [-1]}},
            r"epsilons\.linf: epsilon must be a positive",
        ),
        (
            {
                "attacks": ["linf_pgd"],
                "epsilons": {"linf": [0.1]},
                "params": {"linf_pgd": {"stepz": 3}},
            },
            r"params\.linf_pgd\.stepz: unknown parameter \(did you mean steps",
        ),
        (
            {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "params": {"linf_pgd": {}}},
            r"params\.linf_pgd: attack not in the preset's or the listed attacks",
        ),
        ({"atacks": []}, r"suites\.adversarial\.atacks: unknown key"),
        (
            {"preset": "standrad"},
            r"suites\.adversarial\.preset: unknown preset 'standrad'; did you mean 'standard'\?",
        ),
        ({"preset": "fast", "attacks": ["fgsm"]}, r"give either preset \('fast'\) or attacks"),
        ({"preset": "custom"}, r"preset 'custom' needs a non-empty attack list"),
        ({"eot_draws": 0}, r"suites\.adversarial\.eot_draws: must be at least 1"),
        ({"eot_draws": -3}, r"eot_draws: .*must be at least 1"),
        (
            {"params": {"linf_square": {"queries": "many"}}},
            r"params\.linf_square\.queries: expected a int, got 'many'",
        ),
    ],
)
def test_config_errors_name_the_key(config, pattern) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=pattern):
        AdversarialSuite(config)


def test_default_budgets_come_from_the_task_and_the_plan_summary_says_so() -> None:
    from harness.config.tasks import builtin as builtin_tasks
    from suites.adversarial.budgets import default_budgets

    task = builtin_tasks.digits()
    assert default_budgets(task) == {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}
    suite = AdversarialSuite({})
    assert suite.cfg.epsilons is None  # left out: the default, per task
    first, cost = suite.plan_summary()
    assert first.startswith("preset standard (linf_apgd_ce, linf_apgd_t, linf_fab_t, linf_square")
    assert "4 budget(s): linf 0.05, 0.1; l2 0.5, 1 (the suite's default" in first
    # APGD-CE 100 + APGD-T 900 + FAB-T 900 gradient passes per budget, x 4 budgets
    assert "up to 7,600 gradient and 23,608 forward passes per sample" in cost
    listed = AdversarialSuite({"preset": "fast", "epsilons": {"linf": [0.1]}}).plan_summary()
    assert "1 budget(s): linf 0.1 (from the spec)" in listed[0]


def test_an_unknown_target_order_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"params\.linf_apgd_t\.target_order: 'best' is not one"):
        AdversarialSuite({"preset": "fast", "params": {"linf_apgd_t": {"target_order": "best"}}})
