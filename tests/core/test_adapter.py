"""The adapter protocol's optional hooks: built-ins inherit the defaults, plugins get them added."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from adapters.torch_module import TorchModuleAdapter
from harness.config.tasks.builtin import digits
from harness.core.adapter import (
    Capabilities,
    InputSpec,
    MinimalAdapter,
    ModelAdapter,
    WithDefaultHooks,
    check_fits_task,
    with_default_hooks,
)
from harness.core.errors import ModelOutputError
from harness.testing import AdapterContractError, check_adapter
from tests.fixture_models import linear_digits


class _Minimal:
    """The required members only."""

    name = "minimal"
    input_spec = InputSpec(shape=(1, 8, 8))
    capabilities = Capabilities(gradients=False)
    device = torch.device("cpu")

    def __init__(self) -> None:
        self._net = linear_digits().eval().requires_grad_(False)

    def logits(self, inputs: Any) -> torch.Tensor:
        with torch.inference_mode():
            return self._net(inputs)

    def module(self) -> torch.nn.Module:
        raise NotImplementedError("black-box")

    def describe(self) -> dict[str, Any]:
        return {"adapter": "minimal"}

    def identity(self) -> str:
        return "minimal-identity-0000"


class _RefusesTasks(_Minimal):
    """Defines one hook of its own: refuses every task."""

    def check_task(self, task: Any) -> None:
        raise ModelOutputError(f"model {self.name!r} refuses task {task.name!r}")


def test_builtin_adapters_have_every_hook_and_are_not_wrapped() -> None:
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="lin", input_shape=(1, 8, 8))
    assert isinstance(adapter, ModelAdapter)
    assert with_default_hooks(adapter) is adapter
    assert adapter.unavailable_reason is None
    assert adapter.count_tokens(["a b"]) is None
    check_fits_task(adapter, digits())


def test_a_minimal_adapter_gets_the_default_hooks_and_delegates_the_rest() -> None:
    bare = _Minimal()
    assert isinstance(bare, MinimalAdapter) and not isinstance(bare, ModelAdapter)
    full = with_default_hooks(bare)
    assert isinstance(full, WithDefaultHooks) and isinstance(full, ModelAdapter)
    assert full.unavailable_reason is None and full.count_tokens(["x"]) is None
    full.check_task(digits())
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(full.logits(x), bare.logits(x))
    assert (full.name, full.device, full.input_spec, full.capabilities) == (
        bare.name,
        bare.device,
        bare.input_spec,
        bare.capabilities,
    )
    assert full.describe() == bare.describe() and full.identity() == bare.identity()


def test_a_hook_the_plugin_defines_is_its_own() -> None:
    full = with_default_hooks(_RefusesTasks())
    with pytest.raises(ModelOutputError, match="refuses task 'digits'"):
        check_fits_task(full, digits())


class _BadHook(_Minimal):
    count_tokens = 3  # not a method


class _Unavailable(_Minimal):
    unavailable_reason = "needs a GPU"


@pytest.mark.parametrize(
    ("adapter", "message"),
    [(_BadHook(), "optional hooks must be callable"), (_Unavailable(), "is unavailable")],
)
def test_check_adapter_checks_the_hooks_a_plugin_defines(adapter: Any, message: str) -> None:
    with pytest.raises(AdapterContractError, match=message):
        check_adapter(adapter, digits())


def test_check_adapter_runs_the_plugins_own_check_task() -> None:
    with pytest.raises(ModelOutputError, match="refuses task"):
        check_adapter(_RefusesTasks(), digits())
