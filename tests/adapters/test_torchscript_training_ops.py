"""A TorchScript trace or torch.export program saved while its model was in training mode
keeps dropout (random) and batch norm (batch statistics) switched on in its graph: `.eval()`
cannot turn them off (a traced graph holds the flag as a constant; an exported program refuses
`.eval()`). Read as it is, every number was that of a randomised model (a 0.97 digits model
scored 0.88), so the adapter refuses such a file in one line naming the operation; a scripted
module keeps the flag as an attribute, which the adapter's `.eval()` switches off."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build


def _net(*, batch_norm: bool) -> nn.Module:
    torch.manual_seed(0)
    norm: nn.Module = nn.BatchNorm1d(16) if batch_norm else nn.Identity()
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 16), norm, nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 10)
    )


def _save(kind: str, net: nn.Module, path: Path) -> Path:
    example = torch.rand(4, 1, 8, 8)
    if kind == "trace":
        torch.jit.trace(net, example, check_trace=False).save(str(path))
    elif kind == "script":
        torch.jit.script(net).save(str(path))
    else:
        batch = torch.export.Dim("batch", min=2, max=1 << 16)
        program = torch.export.export(net, (example,), dynamic_shapes=({0: batch},))
        torch.export.save(program, str(path))
    return path


@pytest.mark.parametrize(("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2")])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_a_program_saved_in_training_mode_is_refused(
    kind: str, suffix: str, batch_norm: bool, tmp_path: Path
) -> None:
    path = _save(kind, _net(batch_norm=batch_norm).train(), tmp_path / f"m{suffix}")
    with pytest.raises(ModelLoadError) as err:
        build("torchscript", {"path": str(path)}, tmp_path, name="m")
    text = str(err.value)
    assert "model 'm'" in text and "m" + suffix in text
    assert ("batch_norm" if batch_norm else "dropout") in text
    assert "model.eval()" in text and "\n" not in text


@pytest.mark.parametrize(
    ("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2"), ("script", ".pt")]
)
def test_a_program_saved_in_eval_mode_is_deterministic(
    kind: str, suffix: str, tmp_path: Path
) -> None:
    path = _save(kind, _net(batch_norm=True).eval(), tmp_path / f"m{suffix}")
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    assert torch.equal(adapter.logits(x), adapter.logits(x))


def test_a_module_scripted_in_training_mode_is_put_in_eval(tmp_path: Path) -> None:
    """Scripting keeps `self.training` an attribute: the adapter's `.eval()` turns dropout and
    batch norm off, so it is accepted and deterministic."""
    net = _net(batch_norm=True)
    path = _save("script", net.train(), tmp_path / "m.pt")
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(adapter.logits(x), net.eval()(x), atol=1e-6)


@pytest.mark.parametrize(("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2")])
@pytest.mark.parametrize(
    ("layer", "op"),
    [
        (lambda: nn.Dropout(0.5, inplace=True), "dropout"),
        (lambda: nn.Dropout1d(0.5, inplace=True), "feature_dropout"),
        (lambda: nn.RReLU(), "rrelu"),
        (lambda: nn.RReLU(inplace=True), "rrelu"),
    ],
    ids=["dropout-inplace", "dropout1d-inplace", "rrelu", "rrelu-inplace"],
)
def test_an_in_place_dropout_or_rrelu_saved_in_training_mode_is_refused(
    kind: str, suffix: str, layer: Callable[[], nn.Module], op: str, tmp_path: Path
) -> None:
    """`nn.Dropout(p, inplace=True)` is traced and exported as `dropout_` (`Dropout1d`:
    `feature_dropout_`), and `nn.RReLU` draws random slopes in training mode (`rrelu`, its
    training flag the fourth argument): a program saved in training mode with either was
    accepted, and its outputs were random on every call."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), layer(), nn.Linear(16, 10)).train()
    path = _save(kind, net, tmp_path / f"m{suffix}")
    with pytest.raises(ModelLoadError, match=rf"runs {op} in training mode"):
        build("torchscript", {"path": str(path)}, tmp_path, name="m")
    eval_path = _save(kind, net.eval(), tmp_path / f"e{suffix}")  # in eval mode: accepted
    adapter = build("torchscript", {"path": str(eval_path)}, tmp_path, name="e")
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(adapter.logits(x), net(x), atol=1e-6)


def test_an_rrelu_in_a_decomposed_program_saved_in_training_mode_is_refused(
    tmp_path: Path,
) -> None:
    """A program saved after `run_decompositions()` (or by a torch whose export gave the core
    ATen set) holds `nn.RReLU` as `rrelu_with_noise_functional`, its training flag the fifth
    argument: accepted in training mode, random slopes on every call."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.RReLU(), nn.Linear(16, 10))
    example = (torch.rand(4, 1, 8, 8),)
    batch = {0: torch.export.Dim("batch", min=2, max=1 << 16)}
    for mode, path in ((True, tmp_path / "t.pt2"), (False, tmp_path / "e.pt2")):
        program = torch.export.export(net.train(mode), example, dynamic_shapes=(batch,))
        torch.export.save(program.run_decompositions(), str(path))
    with pytest.raises(ModelLoadError, match=r"runs rrelu_with_noise_functional in training"):
        build("torchscript", {"path": str(tmp_path / "t.pt2")}, tmp_path, name="m")
    adapter = build("torchscript", {"path": str(tmp_path / "e.pt2")}, tmp_path, name="e")
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(adapter.logits(x), net.eval()(x), atol=1e-6)


@pytest.mark.parametrize(("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2")])
def test_an_instance_norm_with_running_stats_saved_in_training_mode_is_refused(
    kind: str, suffix: str, tmp_path: Path
) -> None:
    """`InstanceNorm2d(track_running_stats=True)` normalises each input by its own statistics in
    training mode and by the running ones in eval mode; saved in training mode (the flag a
    constant of `instance_norm`, as batch norm's), every output differed from the model's in
    eval mode, accepted. Without running statistics it is the same in both modes: accepted."""
    torch.manual_seed(0)

    def net(track: bool) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.InstanceNorm2d(4, affine=True, track_running_stats=track),
            nn.Flatten(), nn.Linear(144, 10),
        )  # fmt: skip

    tracked = net(True).train()
    tracked(torch.rand(4, 1, 8, 8))  # running statistics away from their start
    path = _save(kind, tracked, tmp_path / f"t{suffix}")
    with pytest.raises(ModelLoadError, match=r"runs instance_norm in training mode"):
        build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    for name, model in (("e", tracked.eval()), ("u", net(False).train())):
        adapter = build(
            "torchscript",
            {"path": str(_save(kind, model, tmp_path / f"{name}{suffix}"))},
            tmp_path,
            name=name,
        )
        assert torch.allclose(adapter.logits(x), model.eval()(x), atol=1e-5)


class _Recurrent(nn.Module):
    """Each 8x8 image read as 8 rows of 8 by a recurrent layer, then a linear head."""

    def __init__(self, kind: type[nn.Module], layers: int, dropout: float) -> None:
        super().__init__()
        self.rnn = kind(8, 16, num_layers=layers, dropout=dropout, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.reshape(-1, 8, 8))
        return self.fc(out[:, -1])


@pytest.mark.parametrize(
    ("layer", "kind", "suffix"),
    [
        pytest.param(nn.LSTM, "trace", ".pt", id="lstm-trace-.pt"),
        pytest.param(nn.LSTM, "export", ".pt2", id="lstm-export-.pt2"),
        pytest.param(nn.GRU, "trace", ".pt", id="gru-trace-.pt"),
        # torch.export of a stacked GRU: 4-6 s of CPU, the export path of a recurrent layer being
        # lstm-export's and the GRU's op name gru-trace's (make test-slow; CI runs it)
        pytest.param(nn.GRU, "export", ".pt2", id="gru-export-.pt2", marks=pytest.mark.slow),
    ],
)
def test_a_stacked_recurrent_layer_with_dropout_saved_in_training_mode_is_refused(
    kind: str, suffix: str, layer: type[nn.Module], tmp_path: Path
) -> None:
    """`nn.LSTM(num_layers=2, dropout=0.5)` drops out between its layers in training mode; a
    trace or export saved so keeps `train=True` in `aten::lstm`: accepted, and its outputs
    changed on every call. In eval mode, or with one layer and no dropout, it is accepted."""
    torch.manual_seed(0)
    op = layer.__name__.lower()
    path = _save(kind, _Recurrent(layer, 2, 0.5).train(), tmp_path / f"t{suffix}")
    with pytest.raises(ModelLoadError, match=rf"runs {op} in training mode"):
        build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    for name, model in (("e", _Recurrent(layer, 2, 0.5).eval()), ("u", _Recurrent(layer, 1, 0.0))):
        saved = _save(kind, model.train(name == "u"), tmp_path / f"{name}{suffix}")
        adapter = build("torchscript", {"path": str(saved)}, tmp_path, name=name)
        assert torch.allclose(adapter.logits(x), model.eval()(x), atol=1e-5)


@pytest.mark.parametrize(("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2")])
def test_dropout_with_p_zero_in_training_mode_is_accepted(
    kind: str, suffix: str, tmp_path: Path
) -> None:
    """Dropout with p 0 (a transformers config's default) changes nothing in training mode."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Dropout(0.0), nn.Linear(64, 10)).train()
    path = _save(kind, net, tmp_path / f"m{suffix}")
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(adapter.logits(x), net(x), atol=1e-6)


@pytest.mark.parametrize(
    ("kind", "suffix"), [("trace", ".pt"), ("export", ".pt2"), ("script", ".pt")]
)
def test_batch_norm_without_running_stats_saved_in_eval_mode_is_accepted(
    kind: str, suffix: str, tmp_path: Path
) -> None:
    """`BatchNorm1d(track_running_stats=False)` normalises with the batch's statistics in eval
    mode too, so its graph holds training True in eval mode: not a model saved in training
    mode (it was refused, told to call model.eval() it had had), and read as the module."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16, track_running_stats=False),
        nn.Linear(16, 10),
    ).eval()  # fmt: skip
    path = _save(kind, net, tmp_path / f"m{suffix}")
    adapter = build("torchscript", {"path": str(path)}, tmp_path, name="m")
    x = torch.rand(8, 1, 8, 8)
    assert torch.allclose(adapter.logits(x), net(x), atol=1e-6)


def test_evaluate_takes_an_exported_program_module(tmp_path: Path) -> None:
    """`harness.evaluate(torch.export.load(f).module())`: the module refuses `.eval()`
    (NotImplementedError, a traceback) before; it is held as it is and scored now."""
    import harness

    net = _net(batch_norm=True).eval()
    path = _save("export", net, tmp_path / "m.pt2")
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    result = harness.evaluate(
        torch.export.load(str(path)).module(), data=(x, y), num_classes=10, device="cpu"
    )
    expected = (net(x).argmax(1) == y).float().mean().item()
    assert result.metric("top1_acc").value == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["trace", "export"])
def test_evaluate_refuses_a_program_module_saved_in_training_mode(
    kind: str, tmp_path: Path
) -> None:
    import harness

    path = _save(kind, _net(batch_norm=False).train(), tmp_path / "m.pt2")
    module = torch.jit.load(str(path)) if kind == "trace" else torch.export.load(str(path)).module()
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))
    with pytest.raises(ModelLoadError, match="runs dropout in training mode"):
        harness.evaluate(module, data=(x, y), num_classes=10, device="cpu", model_name="m")


def test_a_script_module_without_forward_is_looked_inside() -> None:
    """A scripted holder without `forward` has no `inlined_graph` (AttributeError, a traceback
    out of the check), and the modules inside it, which the network may call, were skipped as
    read: a trace inside it saved in training mode is refused like any other."""
    from harness.adapters.program_mode import refuse_training_ops

    class Holder(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        @torch.jit.export
        def other(self, x: torch.Tensor) -> torch.Tensor:
            return x

    class Wrap(nn.Module):
        def __init__(self, holder: nn.Module) -> None:
            super().__init__()
            self.holder = holder

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.holder.inner(x)

    trace = torch.jit.trace(
        nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train(), torch.rand(2, 4), check_trace=False
    )
    network = Wrap(torch.jit.script(Holder(trace))).eval()
    with pytest.raises(ModelLoadError, match="runs dropout in training mode"):
        refuse_training_ops(network, name="m", what="its network")
