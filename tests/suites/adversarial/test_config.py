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
    cfg = AdversarialConfig()
    plan = plan_attacks(resolve_config(cfg), cfg, _adapter(gradients=True))
    assert plan.white_box and plan.notes == ()
    assert [i.name for i in plan.infos] == cfg.attacks


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
    assert "['fgsm', 'linf_pgd', 'l2_pgd'] were replaced" in note


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
            r"params\.linf_pgd: attack not in suites\.adversarial\.attacks",
        ),
        ({"atacks": []}, r"suites\.adversarial\.atacks: unknown key"),
    ],
)
def test_config_errors_name_the_key(config, pattern) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=pattern):
        AdversarialSuite(config)
