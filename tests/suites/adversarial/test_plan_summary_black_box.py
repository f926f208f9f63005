"""What `harness run` announces for black-box models before the first job: the gradient-free
attacks every job of theirs runs (`attack_plan`, the one decision) and the queries they cost,
not the gradient attacks and passes of a white-box model; a spec that mixes both kinds gets the
lines of each, named by their models."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.planner import build_plan
from harness.config.spec import parse_spec_text
from harness.run.api import EvaluationResult
from harness.run.plugins import installed_plugins

sio = pytest.importorskip("skops.io")

LR = "{name: lr, adapter: sklearn, path: lr.skops, modality: tabular}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding lr.skops, a logistic regression fitted on the digits."""
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    path = tmp_path_factory.mktemp("spec")
    digits = load_digits()
    estimator = LogisticRegression(max_iter=200).fit(digits.data[:400] / 16, digits.target[:400])
    sio.dump(estimator, path / "lr.skops")
    return path


def _summary(folder: Path, models: str, adversarial: str = "{}") -> list[str]:
    spec = parse_spec_text(
        f"name: t\ntasks: [digits]\nmodels: {models}\nsuites:\n  adversarial: {adversarial}\n",
        source="spec.yaml",
    )
    plan = build_plan(spec, base_dir=folder, plugins=installed_plugins())
    headlines = {n: t.headline for n, t in plan.tasks.items()}
    return plan.suites["adversarial"].plan_summary(headlines)


def _evaluate_lr(folder: Path, settings: dict[str, object]) -> EvaluationResult:
    """lr's adversarial job on 12 digits images (what a job of the plan records)."""
    import harness

    return harness.evaluate(
        folder / "lr.skops",
        task="digits",
        limit=12,
        device="cpu",
        bootstrap_resamples=0,
        suites={"adversarial": settings},
    )


def test_a_black_box_spec_announces_its_gradient_free_attacks(folder: Path) -> None:
    what, cost, escalation = _summary(folder, f"[{LR}]")
    assert what == (
        "black-box models (lr): preset standard (linf_square; each on the samples still "
        "unbroken) at 1 budget(s): linf 0.1 (the task's headline threat model; set "
        "suites.adversarial.epsilons to choose); no gradients: linf_apgd_ce, linf_apgd_t, "
        "linf_fab_t do not run, robust accuracy is an upper bound"
    )
    # Square's 5,000 queries and its first scoring pass; no gradient passes
    assert cost.startswith(
        "  cost per model and task: up to 5,001 forward passes (no "
        "gradient passes) per sample that no attack breaks (over all budgets)"
    )
    assert "gradient and" not in cost and "1,900" not in cost
    assert escalation.startswith("  a masking flag adds up to 3")


def test_a_mixed_spec_gets_the_lines_of_each_kind(folder: Path) -> None:
    white = _summary(folder, "[digits-mlp]")
    lines = _summary(folder, f"[digits-mlp, {LR}]")
    # the kind is named on the first line; the cost and escalation lines continue it
    assert lines[:3] == [f"models with gradients (digits-mlp): {white[0]}", *white[1:]]
    assert "1,900 gradient and 5,902 forward passes" in lines[1]
    assert lines[3:] == _summary(folder, f"[{LR}]")


def test_a_decision_based_stand_in_is_named_with_its_queries_uncounted(folder: Path) -> None:
    custom = "{attacks: [linf_pgd], epsilons: {linf: [0.1]}}"
    what, cost, _ = _summary(folder, f"[{LR}]", custom)
    assert what.startswith("black-box models (lr): preset custom (linf_hopskipjump;")
    assert what.endswith("no gradients: linf_pgd does not run, robust accuracy is an upper bound")
    assert cost.startswith(
        "  cost per model and task: the queries of linf_hopskipjump "
        "(decision-based: its own stopping rule sets how many) per sample"
    )


def test_without_the_fallback_black_box_models_are_announced_as_skipped(folder: Path) -> None:
    lines = _summary(folder, f"[digits-mlp, {LR}]", "{allow_blackbox_fallback: false}")
    assert lines[-1].startswith(
        "black-box models (lr): skipped: no gradients, and attacks linf_apgd_ce, linf_apgd_t, "
    )
    assert lines[-1].endswith("(suites.adversarial.allow_blackbox_fallback is false)")
    assert len(lines) == 4 and lines[0].startswith("models with gradients (digits-mlp): ")


def test_what_is_announced_is_what_the_job_runs(folder: Path) -> None:
    """The job of the black-box model records robust accuracy under the announced attacks."""
    import re

    settings = {"preset": "fast", "check_samples": 4, "escalation_rounds": 0, "max_samples": 6}
    (what, *_) = _summary(folder, f"[{LR}]", str(settings).replace("'", ""))
    announced = re.search(r"preset fast \(([^;]*);", what)
    assert announced is not None and announced.group(1) == "linf_square"
    result = _evaluate_lr(folder, settings)
    ran = {re.sub(r"^robust_acc\[attack=([^/]*)/.*", r"\1", m.key) for m in result.metrics}
    assert {a for a in ran if not a.startswith(("ensemble", "clean"))} == {"linf_square"}


def test_a_model_limited_to_some_tasks_is_announced_on_those_only(folder: Path) -> None:
    """lr runs on digits only: mnist's lines name no black-box model, and a task that pairs
    with no model of the suite gets no line."""
    limited = "{name: lr, adapter: sklearn, path: lr.skops, modality: tabular, tasks: [digits]}"
    spec = parse_spec_text(
        "name: t\ntasks: [digits, mnist]\n"
        f"models: [digits-mlp, mnist-cnn, {limited}]\nsuites:\n  adversarial: {{}}\n",
        source="spec.yaml",
    )
    plan = build_plan(spec, base_dir=folder, plugins=installed_plugins())
    lines = plan.suites["adversarial"].plan_summary({n: t.headline for n, t in plan.tasks.items()})
    digits = [line for line in lines if line.startswith("digits: ")]
    mnist = [line for line in lines if line.startswith("mnist: ")]
    # a head line per task group and kind of model, each followed by its continuation lines
    assert len(digits) == 2 and len(mnist) == 1 and len(lines) == 8
    assert any("black-box models (lr)" in line for line in digits)
    assert not any("lr" in line.split(":")[1] for line in mnist)
    assert mnist[0].startswith("mnist: preset standard (linf_apgd_ce, ")
    # mnist's models with gradients cost what digits' do (one budget each): named, not repeated
    assert lines[-1] == "  cost and escalation: as for digits: models with gradients (digits-mlp)"

    only_digits = parse_spec_text(
        "name: t\ntasks: [digits, mnist]\nmodels: [digits-mlp]\nsuites:\n  adversarial: {}\n",
        source="spec.yaml",
    )
    plan = build_plan(only_digits, base_dir=folder, plugins=installed_plugins())
    lines = plan.suites["adversarial"].plan_summary({n: t.headline for n, t in plan.tasks.items()})
    assert len(lines) == 3 and not any("mnist" in line for line in lines)


def test_the_skip_names_the_gradient_attacks_of_the_task_s_own_threat_model(folder: Path) -> None:
    """digits' headline threat model is L-inf only: neither the announced skip nor the job's
    skip reason names the L2 attacks the suite's spec-wide default would hold."""
    (line,) = _summary(folder, f"[{LR}]", "{allow_blackbox_fallback: false}")
    assert "linf_fab_t need them" in line and "l2_" not in line
    result = _evaluate_lr(folder, {"allow_blackbox_fallback": False})
    reason = result.skipped["adversarial"]
    assert "['linf_apgd_ce', 'linf_apgd_t', 'linf_fab_t'] need them" in reason
    assert "l2_apgd" not in reason
