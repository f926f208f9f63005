"""Mahalanobis, RMD and ViM decompose a d x d covariance of the fit features, whose cost grows as
d**3: 0.6 s at 1,024 and 3.7 s at 2,048 dimensions on one thread, hours (or out of memory) at the
~25,000 of a CNN that flattens its feature maps straight into its last layer, with no guard or
note. The default (and `all`) detectors leave them out above `WIDE_FEATURES` with the reason; a
list that names them runs them."""

from __future__ import annotations

import pytest
import torch

from harness.suites.shift.config import OODConfig
from harness.suites.shift.ood.base import FitData, Head
from harness.suites.shift.ood.detectors import WIDE_FEATURES, Bank, leave_out_wide, make


def _fit_data(d: int) -> FitData:
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, d, generator=gen, dtype=torch.float64)
    head = Head(torch.randn(3, d, generator=gen, dtype=torch.float64), torch.zeros(3).double())
    return FitData(
        logits=head.logits(z), features=z, labels=torch.arange(8) % 3, head=head, num_classes=3
    )


def _bank(cfg: OODConfig) -> Bank:
    return Bank(detectors={n: make(n, cfg, 1.0) for n in cfg.chosen()})


def test_features_wider_than_the_limit_leave_the_covariance_detectors_out() -> None:
    cfg = OODConfig()
    bank = _bank(cfg)
    assert {"mahalanobis", "rmd", "vim", "knn"} <= set(bank.detectors)
    leave_out_wide(bank, _fit_data(WIDE_FEATURES + 1), cfg)
    assert {"mahalanobis", "rmd", "vim"}.isdisjoint(bank.detectors)
    assert {"knn", "she", "msp", "energy"} <= set(bank.detectors)
    reason = bank.absent["mahalanobis"]
    assert f"{WIDE_FEATURES + 1:,} dimensions" in reason
    assert "list it under ood.detectors to run it anyway" in reason


def test_all_is_limited_too_and_a_list_naming_them_runs_them_at_any_width() -> None:
    for detectors, kept in (("all", False), (["mahalanobis", "rmd", "vim", "energy"], True)):
        cfg = OODConfig(detectors=detectors)
        bank = _bank(cfg)
        leave_out_wide(bank, _fit_data(WIDE_FEATURES + 1), cfg)
        for name in ("mahalanobis", "rmd", "vim"):
            assert (name in bank.detectors) is kept and (name in bank.absent) is not kept


def test_features_at_the_limit_keep_every_detector() -> None:
    cfg = OODConfig(detectors="all")
    bank = _bank(cfg)
    before = set(bank.detectors)
    leave_out_wide(bank, _fit_data(WIDE_FEATURES), cfg)
    assert set(bank.detectors) == before and bank.absent == {}


@pytest.mark.slow  # a whole shift job (~3 s): the limit's wiring into build_bank
def test_a_wide_model_is_evaluated_without_them_with_the_reason_noted() -> None:
    """The limit as `harness.evaluate` meets it: a network whose last layer reads 4,097 features."""
    import harness

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, WIDE_FEATURES + 1),
        torch.nn.ReLU(),
        torch.nn.Linear(WIDE_FEATURES + 1, 10),
    )
    ood = {"fit_samples": 30}
    sets = [{"generated": "uniform_noise", "n": 20}]
    shift = {"corruptions": [], "ood_sets": sets, "ood": ood}
    result = harness.evaluate(net, task="digits", suites={"shift": shift}, limit=20)
    notes = "\n".join(result.results["shift"].notes)
    for name in ("mahalanobis", "rmd", "vim"):
        assert f"OOD detector {name} not run: the features have 4,097 dimensions" in notes
    scores = {r.context.get("score") for r in result.metrics if r.metric == "ood_auroc"}
    assert "knn" in scores and "mahalanobis" not in scores
