"""A spec's factory module whose forward returns a dict with key 'logits' (or a transformers
`ModelOutput`) is run on that field, gradients included; its identity is the one the same
weights had before the adapter read the field (no new state keys)."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.adapters.builders import build
from tests.fixture_models import linear_digits

DICT_MODEL = {
    "factory": "tests.reliability.hostile_models:misbehaving",
    "factory_args": {"how": "dict"},
    "input_shape": [1, 8, 8],
}
NORMALIZE = {"normalize": {"mean": [0.5], "std": [0.25]}}


def test_factory_module_returning_a_dict_gives_its_logits_and_gradients(tmp_path: Path) -> None:
    adapter = build("torch", {**DICT_MODEL, **NORMALIZE}, tmp_path, name="m")
    x = torch.rand(3, 1, 8, 8)
    expected = linear_digits()((x - 0.5) / 0.25)
    torch.testing.assert_close(adapter.logits(x), expected.detach())
    x.requires_grad_(True)
    out = adapter.module()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (3, 10)
    (grad,) = torch.autograd.grad(out[:, 0].sum(), x)
    assert grad.abs().sum() > 0


def test_reading_the_field_leaves_the_identity_as_it_was(tmp_path: Path) -> None:
    """The weights' hash is that of the module as the spec composes it (normalisation first),
    without a prefix for the adapter's own wrapping: cached results keep their keys."""
    plain = build(
        "torch",
        {"factory": "tests.fixture_models:linear_digits", "input_shape": [1, 8, 8], **NORMALIZE},
        tmp_path,
        name="m",
    )
    wrapped = build("torch", {**DICT_MODEL, **NORMALIZE}, tmp_path, name="m")
    assert plain.describe()["state_sha256"] == (
        "bf48bce40b906fc2fb70bd752fc2badd875f66b9effd2099dc2dfbde83e464bd"  # before LogitsField
    )
    # the dict model holds the same weights one level down (its own `inner`)
    assert wrapped.describe()["parameters"] == plain.describe()["parameters"]
