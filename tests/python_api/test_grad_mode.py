"""`harness.evaluate` called where the caller turned autograd off (a validation step inside
`torch.inference_mode()` or `torch.no_grad()`): gradient attacks must get their gradients, and
the numbers must be those of a call made outside it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
import torch

import harness
from tests.fixture_models import linear_digits

SUITES = {
    "adversarial": {
        "attacks": ["linf_pgd"],
        "epsilons": {"linf": [0.1]},
        "checks": False,
        "examples": 0,
    }
}
MODES: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "inference_mode": torch.inference_mode,
    "no_grad": torch.no_grad,
    "grad disabled": lambda: torch.set_grad_enabled(False),
}


def _robust(context: AbstractContextManager[object]) -> list[tuple[str, float]]:
    x, y = (
        torch.rand(30, 1, 8, 8, generator=torch.Generator().manual_seed(0)),
        torch.arange(30) % 10,
    )
    model = linear_digits()  # made outside, as a training script's model is
    with context:
        result = harness.evaluate(
            model, data=(x, y), suites=SUITES, device="cpu", bootstrap_resamples=0
        )
    frame = result.metrics_frame()
    return list(zip(frame["key"], frame["value"], strict=True))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_attacks_get_gradients_whatever_grad_mode_the_caller_is_in(mode: str) -> None:
    outside = _robust(contextlib.nullcontext())
    robust = dict(outside)["robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"]
    assert robust < dict(outside)["clean_acc"]  # the attack breaks something: a real check
    assert _robust(MODES[mode]()) == outside
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def test_run_spec_inside_inference_mode_measures_what_the_cli_does(tmp_path) -> None:
    """Jobs run in this process: under the caller's inference mode, PGD got no gradients and a
    digits MLP scored robust accuracy 0.98 where the CLI measures 0.55 (a number the shared cache
    would then have served to every later run of the same job)."""
    spec = {
        "name": "grad",
        "tasks": ["digits"],
        "models": ["digits-mlp"],
        "suites": SUITES,
        "limit": 60,
        "device": "cpu",
        "bootstrap_resamples": 0,
        "execution": {"cache": False},
    }
    frames = []
    for name, context in (
        ("plain", contextlib.nullcontext()),
        ("inference", torch.inference_mode()),
    ):
        with context:
            outcome = harness.run_spec(spec, out=tmp_path / name)
        assert outcome.exit_code == 0, outcome.failed
        frames.append(harness.leaderboard(tmp_path / name).filter(like="robust_acc").iloc[0])
    key = "robust_acc[attack=ensemble/norm=linf/eps=0.1]"
    assert frames[0][key] < 0.9 and frames[1][key] == frames[0][key]
