"""The adapter protocol's optional hooks: built-ins inherit the defaults, plugins get them added."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from harness.adapters.torch_module import TorchModuleAdapter
from harness.core.adapter import (
    Capabilities,
    InputSpec,
    MinimalAdapter,
    ModelAdapter,
    Truncation,
    WithDefaultHooks,
    check_fits_task,
    check_logits,
    with_default_hooks,
)
from harness.core.errors import ModelOutputError
from harness.data.builtin import digits
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


def test_a_shape_mismatch_on_an_image_folder_task_advises_the_declaration(tmp_path) -> None:
    """A model whose input_shape differs from a decoded image task's shape is told what to
    declare on the task: a transform giving its size (also when the task's images vary in size
    and the first one sets the task's shape), `channels` for another channel count. A task whose
    images are not decoded from files (the built-in digits) gets no such advice."""
    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec
    from tests.data.layouts import image_folder

    image_folder(tmp_path / "imgs", {"a": 2}, size=(10, 12))
    image_folder(tmp_path / "imgs", {"b": 2}, size=(9, 7), seed=1)  # the images vary in size
    task = load_task(
        TaskSpec.model_validate({"name": "t", "source": "imgs", "modality": "image"}),
        base_dir=tmp_path,
    )
    cases = {
        (3, 8, 8): "[3, 8, 8] but task 't' provides [3, 10, 12]; declare a transform giving 8 x 8 "
        "(resize: [8, 8], or resize: N with center_crop: 8) on the task, or fix the model's "
        "input_shape",
        (1, 10, 12): "[1, 10, 12] but task 't' provides [3, 10, 12]; declare channels: 1 (decode "
        "as grey) on the task, or fix the model's input_shape",
        (1, 224, 224): "declare channels: 1 (decode as grey) and a transform giving 224 x 224 "
        "(transform: imagenet-eval, or resize: [224, 224], or resize: N with center_crop: 224) on "
        "the task, or fix the model's input_shape",
    }
    for shape, expect in cases.items():
        adapter = TorchModuleAdapter.from_module(linear_digits(), name="m", input_shape=shape)
        with pytest.raises(ModelOutputError) as info:
            check_fits_task(adapter, task)
        assert str(info.value).endswith(expect), str(info.value)
    adapter = TorchModuleAdapter.from_module(linear_digits(), name="m", input_shape=(1, 28, 28))
    with pytest.raises(ModelOutputError) as info:
        check_fits_task(adapter, digits())
    assert str(info.value) == (
        "model 'm' takes inputs of shape [1, 28, 28] but task 'digits' provides [1, 8, 8]"
    )


def test_a_model_declaring_a_narrower_input_box_than_the_task_is_refused() -> None:
    """Suites feed the task's raw inputs: a model declaring [0, 0.5] on digits ([0, 1]) would be
    scored on inputs outside what it takes, so the pairing is refused in one line; undeclared,
    the same or a wider box is accepted."""
    task = digits()
    narrow = TorchModuleAdapter.from_module(linear_digits(), name="m", bounds=(0.0, 0.5))
    with pytest.raises(ModelOutputError) as info:
        check_fits_task(narrow, task)
    assert str(info.value) == (
        "model 'm' takes inputs in [0, 0.5] (its bounds) but task 'digits' gives inputs in "
        "[0, 1]; suites feed the task's raw inputs, so rescale inside the model (normalize:) and "
        "widen or drop bounds, or pair it with a task in its range"
    )
    for fits in (None, (0.0, 1.0), (-1.0, 255.0)):
        check_fits_task(
            TorchModuleAdapter.from_module(linear_digits(), name="m", bounds=fits), task
        )


def test_non_finite_logits_say_what_kind_and_the_likely_fix() -> None:
    """A model returning log(softmax(z)) (a log of probabilities that underflow to 0) was refused
    with 'returned NaN or inf logits for 40 sample(s)', naming neither the -inf nor the fix."""
    logits = torch.zeros(4, 3)
    logits[1, 2] = -math.inf
    logits[3, 0] = -math.inf
    with pytest.raises(ModelOutputError) as raised:
        check_logits(logits, num_classes=3, model="m", task="t")
    message = str(raised.value)
    assert message.startswith("model 'm' returned NaN or inf logits for 2 sample(s) of task 't'")
    assert "only -inf" in message and "log_softmax" in message
    logits[0, 0] = math.nan
    with pytest.raises(ModelOutputError) as raised:
        check_logits(logits, num_classes=3, model="m", task="t")
    message = str(raised.value)
    assert "for 3 sample(s)" in message and "-inf" not in message and "log_softmax" not in message
    assert "NaN" in message and "overflow" in message


class _TextMinimal:
    """A text model's required members (scores by text length) with a `truncation` hook of
    its own that miscounts when `total_off` is set."""

    name = "text-minimal"
    input_spec = InputSpec(shape=None, dtype="str", modality="text")
    capabilities = Capabilities(gradients=False)
    device = torch.device("cpu")

    def __init__(self, total_off: int = 0) -> None:
        self.total_off = total_off

    def logits(self, inputs: Any) -> torch.Tensor:
        lengths = torch.tensor([float(len(t)) for t in inputs])
        return torch.stack([-lengths / 10, lengths / 10], dim=1)

    def module(self) -> torch.nn.Module:
        raise NotImplementedError("black-box")

    def describe(self) -> dict[str, Any]:
        return {"adapter": "text-minimal"}

    def identity(self) -> str:
        return "text-minimal-identity"

    def truncation(self, inputs: list[str]) -> Truncation:
        cut = sum(len(t.split()) > 3 for t in inputs)
        return Truncation(count=cut, total=len(inputs) + self.total_off, limit=3, unit="words")


def test_check_adapter_checks_a_plugins_truncation_hook(tmp_path: Any) -> None:
    import pandas as pd

    from harness.data.loader import load_task
    from harness.data.task_spec import TaskSpec

    texts = ["a b", "a b c d e", "x y", "p q r s t u"] * 3
    pd.DataFrame({"text": texts, "label": [0, 1] * 6}).to_csv(tmp_path / "t.csv", index=False)
    spec = TaskSpec(
        name="t", source="t.csv", modality="text", input_column="text", label_column="label"
    )
    task = load_task(spec, base_dir=tmp_path)
    check_adapter(_TextMinimal(), task)
    with pytest.raises(AdapterContractError, match=r"truncation\(\) returned"):
        check_adapter(_TextMinimal(total_off=1), task)
