"""The torch adapter loads safetensors files as training code saves them, exactly or not at all.

Before: a model with tied weights saved by safetensors' own `save_model` (the way the library
gives for shared tensors: `save_file` refuses them) was refused for the name it leaves out
("missing keys ['head.weight']"), and a state dict saved from `nn.DataParallel` (`module.` before
every key) was refused with both key lists and no word on why.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file, save_model

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build
from tests.fixture_models import linear_digits

FACTORY = "tests.adapters.test_torch_weight_keys:tied_net"


class Tied(torch.nn.Module):
    """Digits logits from a weight the module holds under two names (`emb`, `head`)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Linear(64, 10, bias=False)
        self.head = torch.nn.Linear(64, 10)
        self.head.weight = self.emb.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.flatten(1))


def tied_net() -> torch.nn.Module:
    return Tied()


def _adapter(weights: Path, factory: str = FACTORY) -> object:
    fields = {"factory": factory, "weights": str(weights), "input_shape": [1, 8, 8]}
    return build("torch", fields, Path("."), name="m")


def test_tied_weights_saved_once_load(tmp_path: Path) -> None:
    torch.manual_seed(1)
    trained = Tied().eval()
    path = tmp_path / "tied.safetensors"
    save_model(trained, str(path))  # keeps one name of the shared tensor
    adapter = _adapter(path)
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(adapter.logits(x), trained(x).detach())  # type: ignore[attr-defined]


def test_tied_names_with_different_values_are_refused(tmp_path: Path) -> None:
    state = {k: v.clone() for k, v in Tied().state_dict().items()}
    state["head.weight"] = state["emb.weight"] + 1
    path = tmp_path / "untied.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match="one tied tensor in the model but hold different"):
        _adapter(path)


@pytest.mark.parametrize(
    "prefix", ["module.", "model.", "_orig_mod.module.", "module._orig_mod.", "_orig_mod."]
)
def test_a_training_wrappers_prefix_is_stripped_and_noted(tmp_path: Path, prefix: str) -> None:
    net = linear_digits(seed=3)
    path = tmp_path / "wrapped.safetensors"
    save_file({prefix + k: v for k, v in net.state_dict().items()}, str(path))
    adapter = _adapter(path, "tests.fixture_models:linear_digits")
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(adapter.logits(x), net(x).detach())  # type: ignore[attr-defined]
    notes = adapter.describe()["weights_notes"]  # type: ignore[attr-defined]
    assert any(repr(prefix) in note for note in notes)


def test_a_prefix_that_does_not_make_the_keys_fit_is_left_to_the_error(tmp_path: Path) -> None:
    state = {f"module.{k}": v for k, v in linear_digits().state_dict().items()}
    state["module.extra"] = torch.zeros(1)
    path = tmp_path / "wrapped.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match=r"unexpected keys \[.*'module.extra'"):
        _adapter(path, "tests.fixture_models:linear_digits")


class Normed(torch.nn.Module):
    """Digits logits through a BatchNorm: its `num_batches_tracked` is an int64 buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = torch.nn.BatchNorm1d(64)
        self.head = torch.nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(x.flatten(1)))


def normed_net() -> torch.nn.Module:
    return Normed()


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
def test_whole_number_floats_for_an_integer_buffer_load_with_a_note(
    tmp_path: Path, dtype: torch.dtype
) -> None:
    """A conversion script that casts every tensor (`{k: v.half() ...}`) also casts BatchNorm's
    step count; its whole-number value loads as the count it is (it was refused as a cast that
    would change its values)."""
    torch.manual_seed(2)
    trained = Normed()
    trained.train()
    for _ in range(3):
        trained(torch.rand(8, 1, 8, 8))
    trained.eval()
    path = tmp_path / "cast.safetensors"
    cast = {k: v.to(dtype) for k, v in trained.state_dict().items()}
    assert cast["norm.num_batches_tracked"].item() == 3
    save_file(cast, str(path))
    adapter = _adapter(path, "tests.adapters.test_torch_weight_keys:normed_net")
    notes = adapter.describe()["weights_notes"]  # type: ignore[attr-defined]
    assert any(f"norm.num_batches_tracked: {str(dtype)[6:]} -> int64" in n for n in notes), notes
    reference = Normed().eval()
    reference.load_state_dict(cast)  # torch's own load: casts every entry to the module's dtype
    assert int(reference.norm.num_batches_tracked) == 3
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(adapter.logits(x), reference(x).detach())  # type: ignore[attr-defined]


def test_fractional_floats_for_an_integer_buffer_are_refused(tmp_path: Path) -> None:
    state = {k: v.float() for k, v in Normed().state_dict().items()}
    state["norm.num_batches_tracked"] = torch.tensor(2.5)
    path = tmp_path / "cast.safetensors"
    save_file(state, str(path))
    with pytest.raises(ModelLoadError, match="norm.num_batches_tracked is float32 but the model"):
        _adapter(path, "tests.adapters.test_torch_weight_keys:normed_net")
