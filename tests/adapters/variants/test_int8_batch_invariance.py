"""Dynamic int8 variants give per-sample predictions that do not depend on the batch."""

from __future__ import annotations

import torch

from harness.config.planner import build_plan
from harness.config.spec import parse_spec_text
from harness.data.builtin import digits
from harness.run.plugins import installed_plugins
from harness.run.runner import build_adapter
from harness.testing import check_adapter


def test_int8_logits_do_not_depend_on_batch_mates(tmp_path) -> None:  # noqa: ANN001
    spec = parse_spec_text(
        "tasks: [digits]\nmodels:\n  - {name: digits-mlp, variants: [int8]}\nsuites: {accuracy: {}}\n",
        source="s",
    )
    plan = build_plan(spec, base_dir=tmp_path, plugins=installed_plugins())
    adapter = build_adapter(plan, "digits-mlp@int8", torch.device("cpu"))
    assert adapter.capabilities.batching is False and adapter.capabilities.gradients is False
    assert any("one sample at a time" in n for n in adapter.describe()["variant_notes"])
    x = digits().all_inputs()
    alone = adapter.logits(x[:8])
    with_others = adapter.logits(torch.cat([x[:8], x[100:164] * 0.0 + 1.0]))[:8]
    assert torch.equal(alone, with_others)
    check_adapter(adapter, digits().head(64))


def test_blackbox_robust_acc_is_marked_and_not_compared_with_white_box(tmp_path) -> None:  # noqa: ANN001
    from dataclasses import replace as dc_replace

    from harness.analysis.variant_deltas import _not_comparable
    from harness.core.metric_record import MetricRecord
    from harness.core.suite import RunContext
    from harness.suites.adversarial import AdversarialSuite
    from harness.suites.adversarial.suite import BLACKBOX_NOTE

    spec = parse_spec_text(
        "tasks: [digits]\nmodels:\n  - {name: digits-mlp, variants: [int8]}\nsuites: {accuracy: {}}\n",
        source="s",
    )
    adapter = build_adapter(
        build_plan(spec, base_dir=tmp_path, plugins=installed_plugins()),
        "digits-mlp@int8",
        torch.device("cpu"),
    )
    suite = AdversarialSuite(
        {
            "attacks": ["linf_pgd"],
            "epsilons": {"linf": [0.1]},
            "max_samples": 12,
            "checks": False,
            "params": {
                "linf_hopskipjump": {
                    "steps": 2,
                    "initial_gradient_eval_steps": 10,
                    "max_gradient_eval_steps": 20,
                }
            },
        }
    )
    result = suite.run(adapter, digits(), RunContext(seed=0, bootstrap_resamples=20))
    robust = [m for m in result.metrics if m.metric == "robust_acc"]
    assert robust and all(m.note == BLACKBOX_NOTE for m in robust)
    white = MetricRecord(
        suite="adversarial",
        metric="robust_acc",
        value=0.5,
        unit="fraction",
        higher_is_better=True,
        n=12,
    )
    assert "decision-based upper bound" in _not_comparable(robust[0], white)
    assert "reliability flags" in _not_comparable(
        dc_replace(white, flags=("zero_gradients",)), white
    )
    assert _not_comparable(white, white) == ""
