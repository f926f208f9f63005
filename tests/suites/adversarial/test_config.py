"""Resolving the adversarial config (epsilons, attacks, parameters) and the per-model plan."""

from __future__ import annotations

import pytest

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.adapter import Capabilities
from harness.core.errors import ConfigError
from harness.suites.adversarial import AdversarialSuite
from harness.suites.adversarial.config import AdversarialConfig, plan_attacks, resolve_config
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


@pytest.mark.parametrize(
    ("attack", "params", "pattern"),
    [
        # an attack that does no work: its misses read as masked gradients of the model
        ("linf_apgd_ce", {"steps": 0}, r"linf_apgd_ce\.steps: must be at least 1 \(got 0\)"),
        ("linf_apgd_ce", {"steps": -4}, r"linf_apgd_ce\.steps: must be at least 1 \(got -4\)"),
        ("linf_apgd_ce", {"restarts": 0}, r"linf_apgd_ce\.restarts: must be at least 1"),
        ("linf_apgd_ce", {"rho": -3}, r"linf_apgd_ce\.rho: must be more than 0 \(got -3\)"),
        ("linf_apgd_ce", {"rho": 2}, r"linf_apgd_ce\.rho: must be at most 1 \(got 2\)"),
        ("linf_apgd_t", {"targets": 0}, r"linf_apgd_t\.targets: must be at least 1"),
        ("linf_square", {"queries": -5}, r"linf_square\.queries: must be at least 1"),
        ("linf_square", {"p_init": 0}, r"linf_square\.p_init: must be more than 0"),
        ("linf_pgd", {"rel_stepsize": 0.0}, r"linf_pgd\.rel_stepsize: must be more than 0"),
        (
            "linf_pgd",
            {"rel_stepsize": float("nan")},
            r"linf_pgd\.rel_stepsize: expected a finite number",
        ),
        # silently truncated to 10 before
        ("linf_square", {"queries": 10.5}, r"linf_square\.queries: expected a whole number"),
        ("linf_square", {"queries": True}, r"linf_square\.queries: expected a whole number"),
        # bool("false") is True
        ("linf_pgd", {"random_start": "false"}, r"linf_pgd\.random_start: expected true or false"),
    ],
)
def test_attack_parameters_out_of_range_are_refused(attack, params, pattern) -> None:  # noqa: ANN001
    norm = attack.split("_")[0] if attack != "fgsm" else "linf"
    cfg = {"attacks": [attack], "epsilons": {norm: [0.1]}, "params": {attack: params}}
    with pytest.raises(ConfigError, match=rf"suites\.adversarial\.params\.{pattern}"):
        AdversarialSuite(cfg)


def test_attack_parameters_at_their_limits_are_kept() -> None:
    cfg = {
        "attacks": ["linf_apgd_t", "linf_square"],
        "epsilons": {"linf": [0.1]},
        "params": {
            "linf_apgd_t": {"steps": 1, "targets": 1, "rho": 1, "skip_targets": 0},
            "linf_square": {"queries": 1, "p_init": 1.0, "rescale": True},
        },
    }
    params = resolve_config(AdversarialConfig(**cfg)).params
    assert params["linf_apgd_t"]["rho"] == 1.0 and params["linf_square"]["queries"] == 1


def test_default_budgets_follow_the_tasks_headline_threat_model() -> None:
    from dataclasses import replace

    from harness.core.threat_model import ThreatModel
    from harness.data import builtin as builtin_tasks
    from harness.data.headlines import HEADLINES
    from harness.suites.adversarial.budgets import default_budgets

    # the catalogue's headline for digits, as the plan puts it on the loaded task
    digits = replace(builtin_tasks.digits(), headline=HEADLINES["digits"])
    assert digits.headline == (ThreatModel(norm="linf", eps=0.1),)
    assert default_budgets(digits) == {"linf": [0.1]}
    cifar = (ThreatModel(norm="linf", eps=8 / 255), ThreatModel(norm="l2", eps=0.5))
    assert default_budgets(replace(digits, headline=cifar)) == {"linf": [8 / 255], "l2": [0.5]}
    # a task without a headline threat model keeps the suite's own four budgets
    assert default_budgets(replace(digits, headline=())) == {"linf": [0.05, 0.1], "l2": [0.5, 1.0]}
    # the suite runs them: only the headline norm's attacks, and parameters given for the other
    # norm's attacks (checked when the suite is built) are unused there, not refused
    suite = AdversarialSuite({"preset": "fast", "params": {"l2_square": {"queries": 100}}})
    assert suite.cfg.epsilons is None
    resolved = resolve_config(suite.cfg, digits)
    assert resolved.epsilons == {"linf": [0.1]}
    assert [i.name for i in resolved.attacks] == ["linf_apgd_ce", "linf_apgd_t", "linf_square"]
    # an explicit l2 attack list has no l2 budget at digits' headline: one line saying so
    custom = AdversarialSuite({"attacks": ["l2_square"]})
    with pytest.raises(ConfigError, match=r"no l2 epsilons are given \(task 'digits'\'s default"):
        resolve_config(custom.cfg, digits)


def test_the_plan_summary_says_what_each_task_runs_by_default_and_its_cost() -> None:
    from harness.core.threat_model import ThreatModel

    linf = (ThreatModel(norm="linf", eps=0.1),)
    mnist = (ThreatModel(norm="linf", eps=0.3),)
    suite = AdversarialSuite({})
    lines = suite.plan_summary({"digits": linf, "diabetes": linf, "mnist": mnist, "mine": ()})
    # per group of tasks: what runs, then (indented, continuing it) its cost and the
    # escalation's; a group whose cost and escalation repeat an earlier one's names it instead
    assert len(lines) == 8
    what, cost = lines[0], lines[1]
    assert what.startswith(
        "digits, diabetes: preset standard (linf_apgd_ce, linf_apgd_t, linf_fab_t, linf_square;"
    )
    assert "at 1 budget(s): linf 0.1 (the task's headline threat model; set suites." in what
    # APGD-CE 100 + APGD-T 900 + FAB-T 900 gradient passes at one budget
    assert cost.startswith("  cost per model and task: up to 1,900 gradient and")
    assert lines[2].startswith("  a masking flag adds up to 3 escalation round(s)")
    assert lines[3].startswith("mnist: preset standard") and "linf 0.3 (the task's" in lines[3]
    # one budget of the same attacks: the same counts, word for word
    assert lines[4] == "  cost and escalation: as for digits, diabetes"
    assert lines[5].startswith("mine: preset standard (linf_apgd_ce")
    assert (
        "at 4 budget(s): linf 0.05, 0.1; l2 0.5, 1 (the suite's default for a task without"
        in (lines[5])
    )
    assert lines[6].startswith("  cost per model and task: up to 7,600 gradient and")  # 4 budgets
    assert lines[7].startswith("  a masking flag adds")
    undeclared = suite.plan_summary({"plugin": None})
    assert "if its task object declares one, else the suite's default" in undeclared[0]
    listed = AdversarialSuite({"preset": "fast", "epsilons": {"linf": [0.1]}})
    first, cost, _ = listed.plan_summary({"digits": linf, "mnist": mnist})
    assert first.startswith("preset fast (") and "1 budget(s): linf 0.1 (from the spec)" in first
    # APGD-CE 40 + APGD-T 40 x 2 MALT-ranked targets (one gradient pass per class to rank them)
    assert "up to 120 gradient plus 1 per class for MALT's target ranking and" in cost


def test_the_plan_summary_of_a_text_task_says_its_text_attacks(tmp_path) -> None:
    """The text demo's first screen announced image attacks at L-inf and L2 budgets, MALT and
    75M passes for a text model, which gets the black-box text attacks instead. The planner
    tells the suite each task's modality, and a text task's line says what runs on it."""
    from harness.config.planner import build_plan
    from harness.config.spec import parse_spec_text
    from harness.core.threat_model import ThreatModel
    from harness.run.plugins import installed_plugins

    spec = parse_spec_text(
        "name: t\ntasks: [rotten-tomatoes, digits]\nmodels: [digits-mlp, rt-bert]\n"
        "suites:\n  adversarial: {preset: fast}\n",
        source="spec.yaml",
    )
    plan = build_plan(spec, base_dir=tmp_path, plugins=installed_plugins())
    assert plan.tasks["rotten-tomatoes"].modality == "text"
    assert plan.tasks["digits"].modality == "image"
    lines = plan.suites["adversarial"].plan_summary(
        {"rotten-tomatoes": (), "digits": (ThreatModel(norm="linf", eps=0.1),)}
    )
    assert lines[0] == (
        "rotten-tomatoes: text attacks, preset fast (char_greedy at words=0.1/edits=1, "
        "words=0.2/edits=1; word_greedy at words=0.1, words=0.2; each on the texts still "
        "unbroken; black-box, class scores only): up to 300 queries per text"
    )
    assert lines[1].startswith("digits: preset fast (linf_apgd_ce") and len(lines) == 4
    assert not any("rotten-tomatoes" in line for line in lines[1:])


def test_the_plan_summary_says_what_escalation_and_a_randomised_model_can_cost() -> None:
    """A randomised model costs eot_draws passes per pass, and escalation round r averages
    2^r x eot_draws: the standard preset's 7,802 passes per unbroken sample become up to 24
    million; the line says so before the first job (hand count in the comments)."""
    from harness.core.threat_model import ThreatModel
    from harness.suites.adversarial.escalation import worst_case_passes

    linf = (ThreatModel(norm="linf", eps=0.1),)
    _, cost, escalation = AdversarialSuite({}).plan_summary({"digits": linf})
    assert cost.endswith("samples broken early cost less")
    # deterministic, rounds 1-3 at one budget: Square r x 5,000 + 1 queries; 200 gradients
    # (APGD-CE 50 steps, APGD-T 50 x 3 targets) of r x 128 + 1 passes each
    det = sum(r * 5000 + 1 + 200 * (r * 128 + 1) for r in (1, 2, 3))
    assert det == worst_case_passes(5000, 3, 1) == 184_203
    # randomised: every pass of the cascade averaged over 20 draws, Square scoring two points
    # per query: 20 x (1,900 + 901 + 2 x 5,001) = 256,060
    cascade = 20 * (100 + 900 + 900 + 2 * 5001 + 901)
    rand = sum(20 * 2**r * (2 * r * 5000 + 1 + 200 * (r * 128 + 1)) for r in (1, 2, 3))
    assert f"up to {det:,} forward passes per sample still unbroken" in escalation
    assert f"up to {cascade:,} passes" in escalation
    assert f"up to {cascade + rand:,} passes per sample still unbroken" in escalation
    assert cascade + rand > 3000 * (1900 + 5902)
    off = AdversarialSuite({"escalation_rounds": 0, "eot_draws": 4}).plan_summary({"d": linf})
    assert off[2].startswith("  escalation is off (escalation_rounds: 0); a randomised model")
    assert "costs eot_draws (4) passes" in off[2]


def test_an_unknown_target_order_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"params\.linf_apgd_t\.target_order: 'best' is not one"):
        AdversarialSuite({"preset": "fast", "params": {"linf_apgd_t": {"target_order": "best"}}})


def test_an_attack_of_the_other_kind_says_where_it_goes() -> None:
    """A text attack listed with the image attacks (a text task's spec, `attacks:
    [char_greedy]`) was "unknown attack 'char_greedy'; known attacks: fgsm, ...", and an image
    attack under `text.attacks` "unknown text attack 'linf_pgd'": both exist, under the other
    key."""
    from harness.suites.adversarial.text.config import TextConfig, resolve_text

    cfg = AdversarialConfig.model_validate({"attacks": ["char_greedy"]})
    with pytest.raises(ConfigError, match=r"'char_greedy' is a text attack: list it under "
                       r"suites\.adversarial\.text\.attacks"):  # fmt: skip
        resolve_config(cfg)
    text = TextConfig.model_validate({"attacks": ["linf_pgd"]})
    with pytest.raises(ConfigError, match=r"'linf_pgd' is an image and tabular attack: list it "
                       r"under suites\.adversarial\.attacks"):  # fmt: skip
        resolve_text(text, "standard")


@pytest.mark.parametrize(
    "values",
    [["8/255", 0.0313725], ["8/255", "0.0313725"], [0.1, 0.1000000001]],
)
def test_two_spellings_of_one_budget_name_are_refused_before_any_job(values: list) -> None:
    """Budgets whose condition names coincide (`eps=0.0313725` for 8/255 and 0.0313725) would
    give duplicate rows once the attacks had run; the config names both values instead."""
    cfg = AdversarialConfig(attacks=["linf_pgd"], epsilons={"linf": values})
    with pytest.raises(ConfigError, match=r"epsilons\.linf: .* both named eps=") as err:
        resolve_config(cfg)
    assert "\n" not in str(err.value)


def test_a_group_without_a_cost_line_is_never_named_for_its_cost() -> None:
    """Two groups whose cost is not counted (a decision-based attack beside a gradient one)
    or whose black-box models are skipped say no cost line: a later group is not told its
    cost and escalation are 'as for' a group that said none."""
    from harness.core.threat_model import ThreatModel
    from harness.suites.adversarial.plan_summary import plan_summary

    heads = {
        "digits": (ThreatModel(norm="linf", eps=0.1),),
        "mnist": (ThreatModel(norm="linf", eps=0.3),),
    }
    uncounted = AdversarialSuite({"attacks": ["linf_pgd", "linf_hopskipjump"]})
    lines = uncounted.plan_summary(heads)
    assert [line.split(":")[0] for line in lines] == ["digits", "mnist"]
    assert not any("as for" in line for line in lines)
    skipped = AdversarialSuite({"allow_blackbox_fallback": False}).config
    gradients = {"digits": {"lr": False}, "mnist": {"lr2": False}}
    lines = plan_summary(skipped, heads, gradients=gradients)
    assert len(lines) == 2 and all("skipped: no gradients" in line for line in lines)
