"""An `nn.Module` passed to `harness.evaluate` is identified by everything its forward pass reads:
parameters and buffers, its code, and the plain values set on it (a temperature)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import torch

import harness
from harness.adapters.torch_module import TorchModuleAdapter
from tests.fixture_models import linear_digits


class _Tempered(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = linear_digits()
        self.temperature = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) / self.temperature


def _identity(module: torch.nn.Module) -> str:
    return TorchModuleAdapter.from_module(module, name="m").identity()


def test_a_temperature_set_on_the_module_is_part_of_its_identity(tmp_path: Path) -> None:
    """Calibrating by a plain attribute changes the outputs: the result must not overwrite the
    uncalibrated one under the same run id when both are saved into one folder."""
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 10
    model = _Tempered()
    before = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    model.temperature = 0.2
    after = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    assert before.metric("ece").value != after.metric("ece").value
    assert before.save(tmp_path) != after.save(tmp_path)
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_identity_reads_tensors_and_tuples_and_stays_put_otherwise() -> None:
    model = _Tempered()
    first = _identity(model)
    assert _identity(model) == first  # stable
    model.net.train()  # the training flag is evaluate's to set: not identity
    assert _identity(model) == first
    model.scale = torch.tensor([1.0, 2.0])  # a tensor that is not a buffer
    with_tensor = _identity(model)
    assert with_tensor != first
    model.scale = torch.tensor([1.0, 3.0])
    assert _identity(model) != with_tensor
    model.scale = (0.5, 2)
    assert _identity(model) not in (first, with_tensor)
    assert _identity(_Tempered()) == first  # a fresh equal module: the same identity


def test_identity_reads_arrays_dicts_and_sets_in_a_stable_order() -> None:
    """Normalisation constants in a numpy array, a threshold per class in a dict, a set of
    names: read by the forward pass, left out of the identity before (a module changed only
    there overwrote its old results). Dicts and sets count by content, in sorted order."""
    import numpy as np

    model = _Tempered()
    first = _identity(model)
    seen = {first}
    for value in (
        np.array([0.5, 0.25]),
        np.array([0.5, 0.3]),
        {"cat": 0.5, "dog": 0.7},
        {"cat": 0.5, "dog": 0.6},
        {"a", "b"},
        np.int64(3),
    ):
        model.extra = value
        changed = _identity(model)
        assert changed not in seen, value
        seen.add(changed)
    model.extra = {"dog": 0.6, "cat": 0.5}  # the same dict in another insertion order
    other = _Tempered()
    other.extra = {"cat": 0.5, "dog": 0.6}
    assert _identity(model) == _identity(other)


def _scaled(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
    return output * 0.1


def test_a_forward_hook_that_changes_the_outputs_is_part_of_its_identity(tmp_path: Path) -> None:
    """A forward hook (temperature scaling, a clamp) changes what the model returns, but the
    identity read only parameters, buffers, code and attributes: the hooked model's results
    saved into the unhooked one's run folder, over its results (ECE 0.129 -> 0.422, one run
    folder; probe95). Hooks count by their code and what it refers to; a model without hooks
    keeps the identity it had."""
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 10
    model = _Tempered()
    first = _identity(model)
    before = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    handle = model.net.register_forward_hook(_scaled)
    hooked = _identity(model)
    assert hooked != first
    after = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    assert before.metric("ece").value != after.metric("ece").value
    assert before.save(tmp_path) != after.save(tmp_path)
    assert len(list((tmp_path / "runs").iterdir())) == 2
    pre = model.register_forward_pre_hook(lambda module, inputs: (inputs[0] * 2,))
    assert _identity(model) not in (first, hooked)
    pre.remove()
    assert _identity(model) == hooked
    handle.remove()
    assert _identity(model) == first  # hooks gone: the identity it had


_FEATURES: dict[str, torch.Tensor] = {}


def _keep_features(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
    _FEATURES["logits"] = output.detach()


def test_a_hook_that_records_activations_keeps_the_identity_across_forward_passes(
    tmp_path: Path,
) -> None:
    """A hook that records what a layer returns (a closure's or a global's dict, list or set)
    fills it on every forward pass: the identity read its contents, so the same unchanged model
    evaluated twice saved into two run folders (review96). What a hook stores is not part of
    what it computes."""
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 10
    model = _Tempered()
    seen: list[torch.Tensor] = []
    model.net.register_forward_hook(_keep_features)
    model.register_forward_hook(lambda module, inputs, output: seen.append(output.detach()))
    first = _identity(model)
    before = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    assert _FEATURES and seen  # the hooks ran
    assert _identity(model) == first
    after = harness.evaluate(model, data=(x, y), device="cpu", bootstrap_resamples=0)
    assert before.save(tmp_path) == after.save(tmp_path)
    assert len(list((tmp_path / "runs").iterdir())) == 1


class _Recorder:
    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.outputs: list[torch.Tensor] = []

    def __call__(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> object:
        self.outputs.append(output.detach())
        return output * self.scale


def test_a_hook_object_counts_its_settings_not_what_it_records() -> None:
    """A hook object (or a bound method) that keeps what it records in a list of its own: its
    pickle held the list, so its identity changed on every forward pass; its scale still counts."""
    model = _Tempered()
    recorder = _Recorder(1.0)
    model.net.register_forward_hook(recorder)
    first = _identity(model)
    model(torch.rand(4, 1, 8, 8))
    assert recorder.outputs
    assert _identity(model) == first
    recorder.scale = 0.5
    assert _identity(model) != first


def test_a_function_over_a_hooked_module_counts_the_hooks() -> None:
    """A plain function model that calls a module identifies it by `module_sha256`, which read no
    hooks: a hook scaling the module's logits left the function's identity as it was (review96).
    A hook that refers to its own module does not recurse."""
    from harness.adapters.python_callable import callable_fingerprint

    net = linear_digits()

    def model(x: torch.Tensor) -> torch.Tensor:
        return net(x)

    first = callable_fingerprint(model, "m")
    handle = net.register_forward_hook(_scaled)
    hooked = callable_fingerprint(model, "m")
    assert hooked != first
    handle.remove()
    assert callable_fingerprint(model, "m") == first
    net.register_forward_hook(lambda module, inputs, output: output / net.weight_scale)
    net.weight_scale = 2.0
    assert callable_fingerprint(model, "m") not in (first, hooked)
    assert _identity(net) != _identity(linear_digits())


def _tempered_hook(
    module: torch.nn.Module, inputs: object, output: torch.Tensor, *, temperature: float = 1.0
) -> torch.Tensor:
    return output / temperature


def test_a_hook_s_keyword_arguments_count_in_its_identity() -> None:
    """A hook's settings given as keywords (`functools.partial(hook, temperature=2.0)`, or a
    keyword-only default) change what it computes: a dict of them is no store of activations,
    so a partial with another temperature is another model, never saved over the first one's."""
    identities = []
    for temperature in (2.0, 3.0):
        model = _Tempered()
        model.net.register_forward_hook(functools.partial(_tempered_hook, temperature=temperature))
        identities.append(_identity(model))
    assert identities[0] != identities[1]
    model = _Tempered()
    handle = model.net.register_forward_hook(_tempered_hook)
    first = _identity(model)
    handle.remove()
    _tempered_hook.__kwdefaults__ = {"temperature": 4.0}
    try:
        model.net.register_forward_hook(_tempered_hook)
        assert _identity(model) != first
    finally:
        _tempered_hook.__kwdefaults__ = {"temperature": 1.0}


class _Collector(torch.nn.Module):
    """Feature extraction as it is often written: a bound method hooked on every layer."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.ModuleList(torch.nn.Linear(4, 4) for _ in range(6))
        self.features: dict[int, torch.Tensor] = {}
        for layer in self.layers:
            layer.register_forward_hook(self._keep)

    def _keep(self, module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        self.features[id(module)] = output.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def test_hooks_bound_to_their_model_hash_its_parameters_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each hook's fingerprint identified the model its method is bound to, parameters and all:
    a model with a hook on each of its layers hashed every parameter once per hook (16 hooks on
    16 layers of 1024 x 1024: identity 0.13 -> 2.37 s of CPU). Its parameters' digest is kept
    while one module's hooks are hashed; the identity is what it was."""
    from harness.adapters import torch_module

    model = _Collector()
    before = _identity(model)
    calls: list[int] = []
    real = torch_module.state_sha256

    def counted(module: torch.nn.Module) -> str:
        calls.append(id(module))
        return real(module)

    monkeypatch.setattr(torch_module, "state_sha256", counted)
    assert _identity(model) == before
    assert calls.count(id(model)) <= 2, len(calls)  # the description's, and the hooks' one
