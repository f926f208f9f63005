"""Variant recipes: pruning against a hand-computed threshold, int8 and fp16 against the parent."""

from __future__ import annotations

import io

import pytest
import torch
from safetensors.torch import save as st_save
from torch import nn

from harness.adapters.variants.build import build_variant
from harness.adapters.variants.size import model_size
from harness.config.variants import parse_variant
from tests.adapters.variants.models import conv_only


def _net() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(144, 16),
        nn.ReLU(),
        nn.Linear(16, 10),
    ).eval()


def _v(entry: object):  # noqa: ANN202
    return parse_variant(entry, where="t")


def test_global_prune_matches_hand_computed_threshold() -> None:
    net = _net()
    weights = torch.cat([m.weight.detach().abs().flatten() for m in net if hasattr(m, "weight")])
    k = round(0.5 * weights.numel())
    threshold = weights.kthvalue(k).values
    built = build_variant(net, _v("prune50"), model="m")
    for orig, new in zip(net, built.module, strict=True):
        if hasattr(orig, "weight"):
            expect = torch.where(orig.weight.abs() <= threshold, 0.0, orig.weight)
            assert torch.equal(new.weight, expect)
            assert not hasattr(new, "weight_orig") and not new._forward_pre_hooks  # permanent
    assert float(net[0].weight.detach().abs().min()) > 0  # the parent is untouched


def test_layer_prune_hits_sparsity_per_layer() -> None:
    built = build_variant(_net(), _v({"prune": 0.3, "scope": "layer"}), model="m")
    for m in built.module:
        if hasattr(m, "weight"):
            assert abs(float((m.weight == 0).float().mean()) - 0.3) < 0.02


def test_int8_quantizes_linear_layers_and_loses_input_gradients() -> None:
    net = _net()
    built = build_variant(net, _v("int8"), model="m")
    assert built.gradients is False and built.details["quantized_layers"] == ["3", "5"]
    assert any("Conv2d layers stay float32" in n for n in built.notes)
    x = torch.rand(32, 1, 8, 8)
    assert torch.allclose(built.module(x), net(x), atol=0.05)
    # what torch 2.13 does: backward runs but no gradient reaches the input
    xg = x.clone().requires_grad_(True)
    built.module(xg).sum().backward()
    assert xg.grad is None or float(xg.grad.abs().sum()) == 0.0


def test_int8_without_linear_layers_is_unavailable_with_reason() -> None:
    built = build_variant(conv_only(), _v("int8"), model="convy")
    assert built.module is None
    assert "nn.Linear" in built.unavailable and "'convy' has none" in built.unavailable
    assert "Conv2d" in built.unavailable


@pytest.mark.parametrize("program", ["script", "trace", "export"])
@pytest.mark.parametrize("recipe", ["int8", "prune50"])
def test_int8_and_pruning_of_a_compiled_program_say_why_not(program: str, recipe: str) -> None:
    # a scripted or exported network holds Linear layers, compiled into its graph: the reason
    # read "'prog' has none (layer types: RecursiveScriptModule)"
    net, x = _net(), torch.rand(2, 1, 8, 8)
    compiled: nn.Module = (
        torch.jit.script(net)
        if program == "script"
        else torch.jit.trace(net, x)
        if program == "trace"
        else torch.export.export(net, (x,)).module()
    )
    built = build_variant(compiled, _v(recipe), model="prog")
    assert built.module is None and built.unavailable is not None
    assert "has none" not in built.unavailable
    kind = "a torch.export / fx program" if program == "export" else "a TorchScript program"
    assert f"'prog' is {kind}, whose layers are compiled into its graph" in built.unavailable
    assert "give the network as an nn.Module (adapter: torch" in built.unavailable


def test_a_half_variant_of_an_exported_program_copies_it_without_torchs_warning() -> None:
    import warnings

    net, x = _net(), torch.rand(2, 1, 8, 8)
    program = torch.export.export(net, (x,)).module()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = build_variant(program, _v("fp16"), model="prog")
    assert built.module is not None
    assert not [w for w in caught if issubclass(w.category, FutureWarning)], caught


@pytest.mark.parametrize("kind", ["fp16", "bf16"])
def test_reduced_precision_casts_inside_and_keeps_gradients(kind: str) -> None:
    net = _net()
    built = build_variant(net, _v(kind), model="m")
    x = torch.rand(8, 1, 8, 8, requires_grad=True)
    out = built.module(x)
    assert out.dtype == torch.float32
    assert torch.allclose(out, net(x), atol=0.1)
    out.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_sizes_against_references() -> None:
    net = _net()
    plain = {k: v.contiguous() for k, v in net.state_dict().items()}
    size = model_size(net)
    assert size.format == "safetensors" and size.bytes == len(st_save(plain))
    assert size.parameters == sum(p.numel() for p in net.parameters()) == size.nonzero_parameters
    q = build_variant(net, _v("int8"), model="m").module
    qsize = model_size(q)
    buf = io.BytesIO()
    torch.save(q.state_dict(), buf)
    assert qsize.format == "torch.save" and qsize.bytes == len(buf.getvalue())
    assert (
        qsize.parameters == size.parameters and qsize.bytes < size.bytes
    )  # int8 weights (+ torch.save overhead on this tiny net)
    pruned = model_size(build_variant(net, _v("prune50"), model="m").module)
    weights = sum(m.weight.numel() for m in net if hasattr(m, "weight"))
    assert size.parameters - pruned.nonzero_parameters == round(0.5 * weights)


def _normed(kind: str) -> nn.Module:
    """`_net` with its Linear and Conv layers weight- or spectrally normalised (the new API)."""
    from torch.nn.utils import parametrizations

    wrap = {
        "weight_norm": parametrizations.weight_norm,
        "spectral_norm": parametrizations.spectral_norm,
    }[kind]
    net = _net()
    for i in (0, 3, 5):
        net[i] = wrap(net[i])
    return net.eval()


@pytest.mark.parametrize("kind", ["weight_norm", "spectral_norm"])
def test_parametrized_layers_are_baked_before_pruning_and_int8(kind: str) -> None:
    """Pruning a weight-normalised network failed the job with torch's TypeError and its
    traceback ('cannot assign ... to parameter weight_orig'); int8 skipped it saying it had no
    Linear layer. The copy's parametrized weights are now baked into plain ones first (their
    eval-mode values), exactly, and the parent keeps its parametrizations."""
    net = _normed(kind)
    x = torch.rand(16, 1, 8, 8)
    before = net(x).detach().clone()
    kept = build_variant(net, _v({"prune": 0.0}), model="m")  # baking alone changes nothing
    assert kept.module is not None and torch.equal(kept.module(x), before)
    assert kept.details["baked_parametrizations"] == [
        f"{i}.weight (_{''.join(w.title() for w in kind.split('_'))})" for i in (0, 3, 5)
    ]
    pruned = build_variant(net, _v("prune50"), model="m")
    assert pruned.module is not None and "baked into plain weights" in pruned.notes[0]
    weights = [m.weight for m in pruned.module if isinstance(m, nn.Linear | nn.Conv2d)]
    assert (
        abs(sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights) - 0.5)
        < 0.01
    )
    quantized = build_variant(net, _v("int8"), model="m")
    assert quantized.module is not None and quantized.details["quantized_layers"] == ["3", "5"]
    assert torch.allclose(quantized.module(x), before, atol=0.05)
    assert torch.equal(net(x), before)  # the parent is untouched
    assert type(net[3]).__name__ == "ParametrizedLinear"


def test_a_module_that_cannot_be_copied_is_unavailable_with_reason() -> None:
    """The old `nn.utils.weight_norm` keeps a computed weight that deepcopy refuses: every
    variant failed its job with a RuntimeError traceback; now a skip naming the cause."""
    import warnings

    net = _net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net[3] = nn.utils.weight_norm(net[3])
    for variant in ("int8", "prune50", "fp16"):
        built = build_variant(net, _v(variant), model="old-wn")
        assert built.module is None and built.unavailable is not None
        assert "'old-wn', which cannot be copied" in built.unavailable
        assert "torch.nn.utils.parametrizations.weight_norm" in built.unavailable


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_int8_of_a_half_precision_parent_runs_in_float32(dtype: torch.dtype) -> None:
    """A parent held in fp16/bf16 (run behind CastInputs) has its int8 copy quantized from
    float32 weights (exact): it used to quantize half Linear layers behind a cast that fed them
    half inputs, and every job failed ("expected scalar type Float but found Half")."""
    from harness.adapters.model_dtype import in_its_float_type

    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    parent = in_its_float_type(net.to(dtype).eval())
    built = build_variant(parent, _v("int8"), model="m")
    assert built.module is not None
    x = torch.rand(3, 1, 8, 8)
    out = built.module(x)
    assert out.dtype == torch.float32 and out.shape == (3, 10)
    assert torch.allclose(out, parent(x), atol=0.05)
    assert any("cast to float32" in n for n in built.notes)
    assert next(iter(parent.parameters())).dtype == dtype  # the parent is untouched


class _OwnLinear(nn.Module):
    """A layer that holds its weight itself (F.linear), which neither recipe touches."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_out, n_in) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.w)


class _LeftoverHead(nn.Module):
    """Custom layers in the forward pass; the one nn.Linear is a leftover never called."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.f, self.g = _OwnLinear(64, 16), _OwnLinear(16, 10)
        self.unused = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(torch.relu(self.f(x.flatten(1))))


@pytest.mark.parametrize("kind", ["int8", "prune50"])
def test_compressed_layers_outside_the_forward_pass_are_said(kind: str) -> None:
    """int8 of this net quantized only `unused`: the variant computes what the parent does, but
    int8 runs one sample at a time, so its outputs differ from the parent's batched ones in the
    last bits and `harness variants` never said the recipe did nothing. A probe forward pass at
    build time says so, and the weight layers the recipe cannot touch are named."""
    built = build_variant(_LeftoverHead().eval(), _v(kind), model="m", input_shape=(1, 8, 8))
    assert built.module is not None
    text = " | ".join(built.notes)
    assert "none of the 1 compressed layer(s) ran" in text and "unused" in text
    assert "f, g (_OwnLinear)" in text
    assert built.details["layers_not_run"] == ["unused"]
    used = build_variant(_net(), _v(kind), model="m", input_shape=(1, 8, 8))
    assert not any("ran in" in n for n in used.notes) and "layers_not_run" not in used.details


def _tied() -> nn.Module:
    """Two Linear layers sharing one weight (tied weights)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)
    )
    net[2].weight = net[0].weight
    return net.eval()


def test_a_tied_weight_is_sized_and_counted_once() -> None:
    """The parent's size held a shared weight twice (its state dict has both names; safetensors
    files store it once, as `save_model` does), while its parameter count held it once: the
    int8 variant read 0.57x of an inflated parent. Pruning's note counted it twice too."""
    net = _tied()
    untied = _tied()
    untied[2].weight = nn.Parameter(untied[0].weight.detach().clone())
    shared_bytes = 32 * 32 * 4
    assert model_size(untied).bytes - model_size(net).bytes >= shared_bytes
    assert model_size(net).parameters == sum(p.numel() for p in net.parameters())
    pruned = build_variant(net, _v("prune50"), model="m")
    unique = 32 * 32 + 32 * 3
    assert f"of {unique} weights are zero" in pruned.notes[0]
    int8 = build_variant(net, _v("int8"), model="m")
    assert any("0, 2" in n and "shared" in n for n in int8.notes)


class _SpareHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body, self.spare = _net(), nn.Linear(4, 4)  # `spare` is never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_a_compressed_layer_left_out_of_the_forward_pass_is_named() -> None:
    """Some compressed layers run, one does not: the note names the one that does not."""
    built = build_variant(_SpareHead().eval(), _v("int8"), model="m", input_shape=(1, 8, 8))
    assert built.notes[0] == (
        "compressed layer(s) that did not run in a probe forward pass of a zero input: spare"
    )
    assert built.details["layers_not_run"] == ["spare"]


def test_int8_of_a_model_that_is_one_linear_layer_runs_the_quantized_layer() -> None:
    """The torch adapter wraps the factory's module in `LogitsField`, which keeps a direct
    reference to it for speed. `quantize_dynamic` swaps the wrapped `nn.Linear` (a child of the
    wrapper) for its quantized copy, so a stale reference ran the float layer: a one-layer model
    (a logistic regression written as `torch.nn:Linear`) got an int8 variant that computed its
    parent and a note that its quantized layer never ran."""
    from harness.adapters.logits_field import LogitsField

    torch.manual_seed(0)
    parent = LogitsField(nn.Linear(8, 3), model="m").eval()
    built = build_variant(parent, _v("int8"), model="m", input_shape=(8,))
    assert built.module is not None
    assert "layers_not_run" not in built.details
    assert not any("ran in a probe" in note for note in built.notes)
    x = torch.randn(1, 8)
    expected = torch.ao.quantization.quantize_dynamic(
        nn.Sequential(parent.inner), {nn.Linear}, dtype=torch.qint8
    )(x)
    with torch.no_grad():
        out = built.module(x)
        assert torch.equal(out, expected)
        assert not torch.equal(out, parent(x))
