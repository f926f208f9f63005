"""A module whose forward returns its logits inside a mapping or an object (a transformers
`ModelOutput`, a dict with key 'logits', a dataclass with a `logits` tensor) is evaluated on that
field, attacks included; an output without logits is refused in one line naming the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

import harness
from harness.core.errors import HarnessError
from harness.data.builtin import digits_arrays
from tests.fixture_models import linear_digits

FAST = {"device": "cpu", "bootstrap_resamples": 20}
SUITES = {
    "accuracy": {},
    "adversarial": {"attacks": ["fgsm", "linf_pgd"], "epsilons": {"linf": [0.1]}},
}


@dataclass
class Scores:
    logits: Any
    hidden: torch.Tensor | None = None


class Wrapped(nn.Module):
    """`linear_digits` whose forward returns its logits as `how` says."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.inner = linear_digits()
        self.how = how

    def forward(self, x: torch.Tensor) -> Any:
        out = self.inner(x)
        if self.how == "dict":
            return {"logits": out, "hidden": x.flatten(1)}
        if self.how == "object":
            return Scores(logits=out, hidden=x)
        if self.how == "no-logits":
            return {"scores": out}
        if self.how == "logits-none":
            return Scores(logits=None)
        if self.how == "logits-numpy":
            return {"logits": out.detach().numpy()}
        raise AssertionError(self.how)


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = digits_arrays("test")
    return torch.from_numpy(x[:24].copy()), torch.from_numpy(y[:24].copy())


def _values(result: harness.EvaluationResult) -> dict[str, float]:
    return {m.key: m.value for m in result.metrics}


@pytest.fixture(scope="module")
def plain(digits) -> dict[str, float]:
    """The numbers of the same weights returning a plain tensor."""
    return _values(harness.evaluate(linear_digits(), data=digits, suites=SUITES, **FAST))


@pytest.mark.parametrize("how", ["dict", "object"])
def test_logits_field_gives_the_plain_module_numbers(digits, plain, how: str) -> None:
    """Same weights, same numbers, robust accuracy included: the attacks' gradients flow
    through the field."""
    result = harness.evaluate(Wrapped(how), data=digits, suites=SUITES, **FAST)
    assert not result.skipped, result.skipped
    values = _values(result)
    assert values == plain


@pytest.mark.parametrize(
    ("how", "found"),
    [
        ("no-logits", "returned a dict with keys ['scores'] from its forward pass"),
        ("logits-none", "returned a Scores whose logits is None"),
        ("logits-numpy", "returned a dict whose logits is a numpy array of shape (24, 10)"),
    ],
)
def test_output_without_logits_is_one_line(digits, how: str, found: str) -> None:
    with pytest.raises(HarnessError) as caught:
        harness.evaluate(Wrapped(how), data=digits, suites=["accuracy"], model_name="m", **FAST)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("model 'm' ")
    assert found in message


transformers = pytest.importorskip("transformers")


def _tiny_vit() -> nn.Module:
    """A random, tiny ViT classifier for the 1x8x8 digits (built offline from a config)."""
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=1,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        num_labels=10,
        initializer_range=0.5,  # predictions that follow the input, so attacks can move them
    )
    return transformers.ViTForImageClassification(config)


def test_transformers_image_classifier_is_evaluated_on_its_logits(digits) -> None:
    model = _tiny_vit()
    x, y = digits
    with torch.no_grad():
        expected = (model.eval()(x.float()).logits.argmax(1) == y).float().mean().item()
    result = harness.evaluate(model, data=digits, suites=SUITES, **FAST)
    assert not result.skipped, result.skipped
    assert result.metric("top1_acc").value == pytest.approx(expected)
    clean = result.metric("clean_acc").value
    robust = {m.key: m.value for m in result.metrics if m.metric == "robust_acc"}
    pgd = robust["robust_acc[attack=linf_pgd/eps=0.1,norm=linf]"]
    assert all(r <= clean for r in robust.values()), robust
    assert pgd < clean  # the attack moved the model: gradients reached the inputs


class NoLogitsOutput(nn.Module):
    """A transformers-style model whose output holds a loss but no logits."""

    def forward(self, x: torch.Tensor) -> Any:
        loss = x.sum()
        return transformers.modeling_outputs.ImageClassifierOutput(loss=loss)


def test_model_output_without_logits_is_one_line(digits) -> None:
    with pytest.raises(HarnessError) as caught:
        harness.evaluate(NoLogitsOutput(), data=digits, suites=["accuracy"], **FAST)
    assert str(caught.value) == (
        "model 'NoLogitsOutput' returned an ImageClassifierOutput whose logits is None; its "
        "'logits' field must hold the (batch, classes) logits tensor"
    )
