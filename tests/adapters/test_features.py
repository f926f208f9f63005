"""The optional `features` hook: penultimate features and the last layer beside the logits, in
one forward pass, for every adapter kind that has them; a reason for those that do not."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch
from torch import nn

from harness.core.adapter import FeaturesUnavailable
from harness.core.errors import ConfigError
from harness.core.model_calls import CheckedAdapter
from tests.adapters.builders import build, contract_cases

if TYPE_CHECKING:
    from harness.adapters.torch_module import TorchModuleAdapter

WITH_FEATURES = ("torch", "variant", "hf-image", "hf-text")
WITHOUT = ("onnx", "torchscript", "sklearn", "callable")


def _inputs(task, n: int = 5):  # noqa: ANN001, ANN202
    return next(task.batches(n)).inputs


@pytest.mark.parametrize("kind", WITH_FEATURES)
def test_features_come_with_the_same_logits_and_rebuild_them(kind: str, request) -> None:
    adapter, task = contract_cases(request)[kind]()
    checked = CheckedAdapter(adapter, task)
    x = _inputs(task)
    out = checked.features(x)
    assert out.features.ndim == 2 and out.features.shape[0] == len(x)
    assert torch.allclose(out.logits, adapter.logits(x), atol=1e-5)
    if kind == "variant":  # int8, one sample at a time: the float layer does not make the logits
        assert out.weight is None and out.head_note
        return
    assert out.weight is not None and out.bias is not None, out.head_note
    rebuilt = out.features @ out.weight.T + out.bias
    assert torch.allclose(rebuilt, out.logits, atol=1e-4)


@pytest.mark.parametrize("kind", WITHOUT)
def test_adapters_without_features_say_why(kind: str, request) -> None:
    adapter, task = contract_cases(request)[kind]()
    with pytest.raises(FeaturesUnavailable) as err:
        CheckedAdapter(adapter, task).features(_inputs(task))
    assert str(err.value)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 12), nn.ReLU())
        self.fc = nn.Linear(12, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))


class _Scaled(_Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * self.fc(self.body(x))  # something after the last layer


def _with_layer(net: nn.Module, layer: str) -> TorchModuleAdapter:
    """The torch adapter of `net` named "m" with `features_layer` set to `layer`."""
    from harness.adapters.torch_module import TorchModuleAdapter

    return TorchModuleAdapter(
        "m",
        net,
        device=torch.device("cpu"),
        input_spec=TorchModuleAdapter.from_module(net, name="m").input_spec,
        description={},
        features_layer=layer,
    )


def test_a_named_layer_and_the_default_last_linear() -> None:
    from harness.adapters.torch_module import TorchModuleAdapter

    torch.manual_seed(0)
    net = _Net()
    x = torch.rand(4, 1, 8, 8)
    default = TorchModuleAdapter.from_module(net, name="m").features(x)
    assert torch.allclose(default.features, net.body(x))
    assert default.weight is not None and torch.equal(default.weight, net.fc.weight)
    named = _with_layer(net, "body.2").features(x)  # the ReLU: its input is the pre-activation
    assert torch.allclose(named.features, net.body[:2](x)) and named.weight is None
    assert "not a linear layer" in (named.head_note or "")


class _WithAuxHead(_Net):
    def __init__(self) -> None:
        super().__init__()
        self.aux = nn.Linear(12, 3)  # registered last, never called (a leftover head)


def test_a_default_last_linear_that_never_runs_leaves_the_features_out() -> None:
    """The default features layer (the last nn.Linear registered) was an auxiliary head the
    forward never calls: the whole shift job failed ("model 'm': layer 'aux' ran 0 times in
    one forward pass") though features_layer was never set. The features are now unavailable
    with that reason (the feature detectors are left out with it); a layer the spec names
    still fails the model in one line."""
    from harness.adapters.torch_module import TorchModuleAdapter
    from harness.core.errors import ModelCallError

    net = _WithAuxHead()
    x = torch.rand(3, 1, 8, 8)
    with pytest.raises(FeaturesUnavailable, match=r"'aux' \(the last nn.Linear\) ran 0 times"):
        TorchModuleAdapter.from_module(net, name="m").features(x)
    named = _with_layer(net, "aux")
    with pytest.raises(ModelCallError, match="layer 'aux' ran 0 times"):
        named.features(x)


class _Keyword(_Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(input=self.body(x))  # the classifier called with a keyword


def test_a_layer_called_with_a_keyword_gives_its_input() -> None:
    """A forward pre-hook sees only positional arguments: `self.fc(input=h)` left it nothing
    to record, and the job failed with "layer 'fc' ran 0 times in one forward pass" (named),
    or the feature detectors were left out with it (default), though fc ran once."""
    from harness.adapters.torch_module import TorchModuleAdapter

    torch.manual_seed(0)
    net = _Keyword()
    x = torch.rand(4, 1, 8, 8)
    for out in (
        _with_layer(net, "fc").features(x),
        TorchModuleAdapter.from_module(net, name="m").features(x),
    ):
        assert torch.allclose(out.features, net.body(x))
        assert out.weight is not None and torch.equal(out.weight, net.fc.weight)


class _ScaledLinear(torch.nn.Linear):
    def forward(self, input: torch.Tensor, scale: float = 1.0) -> torch.Tensor:  # noqa: A002
        return super().forward(input) * scale


class _KeywordFirst(_Net):
    def __init__(self) -> None:
        super().__init__()
        self.head = _ScaledLinear(self.fc.in_features, self.fc.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(scale=1.0, input=self.body(x))  # a number before the tensor


def test_a_layer_called_with_a_number_keyword_first_gives_its_tensor_input() -> None:
    """The hook took the first keyword argument as the layer's input: for
    `self.head(scale=1.0, input=h)` that was 1.0, nothing was recorded, and the job failed with
    "layer 'head' ran 0 times in one forward pass" though it ran once."""
    torch.manual_seed(0)
    net = _KeywordFirst()
    x = torch.rand(4, 1, 8, 8)
    out = _with_layer(net, "head").features(x)
    assert torch.allclose(out.features, net.body(x))


class _Aliased(_Net):
    def __init__(self) -> None:
        super().__init__()
        self.classifier = self.fc  # the same layer under a second (backward-compatible) name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.body(x))


def test_a_layer_named_by_its_alias_is_found() -> None:
    """`named_modules()` lists a module registered under two names once, by its first name:
    `features_layer: classifier` failed the job with "'classifier' is not a module of the
    network (its last modules: ..., fc)" though the forward calls it by that name."""
    torch.manual_seed(0)
    net = _Aliased()
    x = torch.rand(4, 1, 8, 8)
    for layer in ("classifier", "fc"):
        adapter = _with_layer(net, layer)
        out = adapter.features(x)
        assert torch.allclose(out.features, net.body(x))
        assert out.weight is not None and torch.equal(out.weight, net.fc.weight)
        assert adapter.features_path in ("classifier", "fc")


def test_logits_made_after_the_layer_get_no_weight() -> None:
    from harness.adapters.torch_module import TorchModuleAdapter

    out = TorchModuleAdapter.from_module(_Scaled(), name="m").features(torch.rand(3, 1, 8, 8))
    assert out.weight is None and "something runs after it" in (out.head_note or "")


def test_an_unknown_features_layer_names_the_close_ones(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    net = _Net()
    weights = tmp_path / "net.safetensors"
    save_file(net.state_dict(), str(weights))
    fields = {
        "factory": "tests.adapters.test_features:_Net",
        "weights": str(weights),
        "input_shape": [1, 8, 8],
        "normalize": {"mean": [0.5], "std": [0.25]},  # names are the factory module's own
        "features_layer": "fcc",
    }
    with pytest.raises(
        ConfigError, match=r"features_layer 'fcc' is not a module.*did you mean 'fc'"
    ):
        build("torch", fields, tmp_path)
    ok = build("torch", {**fields, "features_layer": "fc"}, tmp_path)
    assert ok.describe()["features_layer"] == "fc"
    assert ok.features(torch.rand(2, 1, 8, 8)).weight is not None


def test_onnx_features_output_is_read_in_the_same_run(tmp_path: Path) -> None:
    class TwoOut(_Net):
        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
            h = self.body(x)
            return self.fc(h), h

    torch.manual_seed(1)
    net = TwoOut().eval()
    path = tmp_path / "two.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.rand(2, 1, 8, 8),),
            str(path),
            input_names=["pixels"],
            output_names=["logits", "penultimate"],
            dynamic_axes={"pixels": {0: "batch"}},
            dynamo=False,
            opset_version=17,
        )
    fields = {"path": str(path), "input_shape": [1, 8, 8], "output": "logits"}
    with pytest.raises(
        ConfigError, match=r"features_output 'penultimat' .*did you mean 'penultimate'"
    ):
        build("onnx", {**fields, "features_output": "penultimat"}, tmp_path)
    adapter = build("onnx", {**fields, "features_output": "penultimate"}, tmp_path)
    x = torch.rand(3, 1, 8, 8)
    out = adapter.features(x)
    with torch.no_grad():
        logits, h = net(x)
    assert torch.allclose(out.features, h, atol=1e-5) and torch.allclose(
        out.logits, logits, atol=1e-5
    )
    assert out.weight is None and out.head_note
    # without `output:`, the graph's other output holds the scores: `features_output` names
    # one of its two float outputs (refused before: "has outputs [...]; set `output:`")
    unnamed = build("onnx", {**fields, "output": None, "features_output": "penultimate"}, tmp_path)
    assert unnamed.describe()["output"] == "logits"
    assert torch.allclose(unnamed.logits(x), logits, atol=1e-5)


class _Half(nn.Module):
    """A network run wholly in float16 / bfloat16 (inputs cast inside)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inner = _Net().to(dtype)
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.to(self.dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_half_precision_last_layer_rebuilds_its_logits(dtype: torch.dtype) -> None:
    """A last layer run in float16 or bfloat16 rounds its output to that format (here up to
    3.7e-4 and 3.0e-3 of the logits' scale), over the float32 tolerance: its weight was held
    back with "the logits are not layer 'fc''s output (something runs after it)", which is
    false, and ViM, ReAct, ASH and DICE did not run. A scale after such a layer still fails."""
    from harness.adapters.torch_module import TorchModuleAdapter

    x = torch.rand(64, 1, 8, 8) * 4
    out = TorchModuleAdapter.from_module(_Half(dtype), name="m").features(x)
    assert out.weight is not None, out.head_note

    class _HalfScaled(_Half):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 1.1 * super().forward(x)

    scaled = TorchModuleAdapter.from_module(_HalfScaled(dtype), name="m").features(x)
    assert scaled.weight is None and "something runs after it" in (scaled.head_note or "")


class _EmbedThenConv(nn.Module):
    """The last nn.Linear embeds the input; a 1x1 convolution is the classifier."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Linear(64, 32)
        self.head = nn.Conv1d(32, 10, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.embed(x.flatten(1)))[:, :, None])[:, :, 0]


def test_a_default_layer_that_is_not_the_classifier_gives_no_features() -> None:
    """The default (the last nn.Linear) was an input embedding mapping 64 pixels to 32 outputs,
    not to the 10 logits: Mahalanobis and KNN ran on the raw pixels as if they were the
    penultimate features, and only ViM's absence hinted at it. The features are now unavailable
    with the reason; naming the layer still reads it."""
    from harness.adapters.torch_module import TorchModuleAdapter

    x = torch.rand(3, 1, 8, 8)
    with pytest.raises(FeaturesUnavailable, match=r"'embed' \(the last nn.Linear\) maps to 32 "
                       r"outputs, not to the 10 logits"):  # fmt: skip
        TorchModuleAdapter.from_module(_EmbedThenConv(), name="m").features(x)
    named = _with_layer(_EmbedThenConv(), "head").features(x)
    assert named.features.shape == (3, 32)


class _ListInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)

    def forward(self, parts: list[torch.Tensor]) -> torch.Tensor:
        return self.fc(parts[0])


class _ReadsAList(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = _ListInput()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head([x.flatten(1)])  # the named layer takes a list, not a tensor


def test_a_named_layer_whose_input_is_not_a_tensor_says_so() -> None:
    """`features_layer` naming a module called once with a list failed the job with "layer
    'head' ran 0 times in one forward pass" though it ran once (/tmp/p89/t11.py): its input
    is no tensor, which is what the message must say."""
    from harness.core.errors import ModelCallError

    with pytest.raises(ModelCallError) as err:
        _with_layer(_ReadsAList(), "head").features(torch.rand(3, 1, 8, 8))
    said = str(err.value)
    assert "ran 0 times" not in said
    assert "'head' ran once" in said and "list" in said and "not a tensor" in said
