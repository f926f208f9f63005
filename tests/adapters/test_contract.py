"""The adapter contract (`harness.testing.check_adapter`) over every registered adapter kind."""

from __future__ import annotations

import pytest
import torch

from harness.core.adapter import Capabilities
from harness.data.builtin import digits
from harness.run.plugins import adapter_registry
from harness.testing import AdapterContractError, check_adapter
from tests.adapters.builders import contract_cases
from tests.fixture_models import linear_digits

KINDS = adapter_registry().names()


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_adapter_meets_the_contract(
    kind: str, request: pytest.FixtureRequest
) -> None:
    cases = contract_cases(request)
    assert kind in cases, (
        f"registered adapter {kind!r} has no contract-test case in tests/adapters/builders.py"
    )
    adapter, task = cases[kind]()
    report = check_adapter(adapter, task)
    assert report.samples == 8
    assert report.white_box == adapter.capabilities.gradients


def test_contract_cases_cover_exactly_the_registry(request: pytest.FixtureRequest) -> None:
    assert set(contract_cases(request)) == set(KINDS)


class _Broken:
    """A minimal adapter with switchable planted bugs."""

    def __init__(self, bug: str) -> None:
        from harness.core.adapter import InputSpec

        self.name = f"broken-{bug}"
        self.input_spec = InputSpec(shape=(1, 8, 8))
        self.capabilities = Capabilities(gradients=bug == "claims-gradients")
        self.device = torch.device("cpu")
        self._net = linear_digits().eval().requires_grad_(False)
        self._bug = bug
        self._calls = 0

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        self._calls += 1
        with torch.no_grad():
            out = self._net(inputs)
        if self._bug == "shape":
            return out[:, :9]
        if self._bug == "random":
            return out + torch.randn_like(out)
        if self._bug == "batch":
            return out + len(inputs)
        return out

    def module(self) -> torch.nn.Module:
        if self._bug not in ("claims-gradients", "none"):
            raise NotImplementedError("black-box")
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Flatten())  # not the model

    def describe(self) -> dict[str, object]:
        self._calls += 1
        return {"calls": self._calls} if self._bug == "describe" else {"ok": True}

    def identity(self) -> str:
        return "x" * 64


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("shape", "expected (8, 10)"),
        ("random", "not deterministic"),
        ("batch", "depend on the batch"),
        ("describe", "describe() changed"),
        ("claims-gradients", "differs from logits"),
        ("none", "gradients is False but module() returned a module"),
    ],
)
def test_check_adapter_catches_planted_bugs(bug: str, message: str) -> None:
    with pytest.raises(AdapterContractError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_adapter(_Broken(bug), digits())
