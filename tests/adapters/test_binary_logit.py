"""A binary classifier with one output per input (the logit of the second class, as a model
trained with `BCEWithLogitsLoss` gives it) declared with `outputs: binary_logit`: its logits are
the pair (0, z), whose softmax is sigmoid(z), the model's own probability. Every suite reads it
as the two-class model it is: gradients through the pair, the penultimate features with a last
layer that rebuilds both logits, calibration without the decision-margin flag. Undeclared, the
refusal says how to declare it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from torch import nn

import harness
from harness.adapters.score_outputs import to_logits
from harness.core.errors import ClassCountError, HarnessError, ModelLoadError, ModelOutputError
from tests.adapters.builders import build, export_onnx


def one_logit_net(squeeze: bool = False, width: int = 1) -> nn.Module:
    """A seeded 30-16-1 network (30 features in), its output (N, 1), or (N,) when `squeeze`."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, width))
    return nn.Sequential(net, nn.Flatten(0)) if squeeze else net


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_breast_cancer()
    x = (d.data - d.data.mean(0)) / d.data.std(0)
    x = (x - x.min(0)) / (x.max(0) - x.min(0))  # within [0, 1] per feature
    return torch.tensor(x, dtype=torch.float32), torch.tensor(d.target)


def _trained() -> nn.Module:
    x, y = _data()
    net = one_logit_net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(150):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(
            net(x[:400]).squeeze(1), y[:400].float()
        )
        loss.backward()
        opt.step()
    return net


def test_an_undeclared_one_output_model_is_told_how_to_declare_it() -> None:
    x, y = _data()
    with pytest.raises(ClassCountError, match="outputs: binary_logit"):
        harness.evaluate(one_logit_net(), data=(x, y), name="bc", device="cpu")


def test_evaluate_reads_one_logit_as_the_second_class_and_its_sigmoid() -> None:
    x, y = _data()
    net = _trained()
    result = harness.evaluate(
        net, data=(x[400:], y[400:]), name="bc", device="cpu", outputs="binary_logit"
    )
    with torch.no_grad():
        z = net(x[400:]).squeeze(1).double()
    p1 = torch.sigmoid(z).numpy()
    labels = y[400:].numpy()
    assert result.metric("top1_acc").value == pytest.approx(float(((p1 > 0.5) == labels).mean()))
    p_true = np.where(labels == 1, p1, 1 - p1)
    assert result.metric("nll").value == pytest.approx(float(-np.log(p_true).mean()), rel=1e-4)
    brier = float((((p1 - labels) ** 2) * 2).mean())  # both classes' squared errors
    assert result.metric("brier").value == pytest.approx(brier, rel=1e-4)
    # sigmoid(z) is the model's own probability: no decision-margin flag on calibration
    assert "decision_scores" not in result.metric("ece").flags


def test_a_binary_logit_model_on_a_task_of_three_classes_says_why() -> None:
    """The pair (0, z) made the refusal say 'outputs 2 classes', of a model with one output,
    and advise another label space: the declaration is what does not fit."""
    x, y = _data()
    y3 = y.clone()
    y3[:50] = 2
    with pytest.raises(ClassCountError, match=r"declares outputs: binary_logit.*'bc' has 3"):
        harness.evaluate(one_logit_net(), data=(x, y3), name="bc", outputs="binary_logit")


def test_outputs_is_refused_for_what_it_does_not_apply_to() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    estimator = LogisticRegression().fit(x.numpy(), y.numpy())
    with pytest.raises(HarnessError, match="outputs"):
        harness.evaluate(estimator, data=(x, y), name="bc", device="cpu", outputs="binary_logit")
    with pytest.raises(HarnessError, match="outputs"):
        harness.evaluate(one_logit_net(), data=(x, y), name="bc", device="cpu", outputs="logit")


@pytest.mark.parametrize("squeeze", [False, True])
def test_the_spec_adapter_gives_the_pair_its_gradients_and_a_head_that_rebuilds_it(
    tmp_path: Path, squeeze: bool
) -> None:
    fields = {
        "factory": "tests.adapters.test_binary_logit:one_logit_net",
        "factory_args": {"squeeze": squeeze},
        "input_shape": [30],
        "modality": "tabular",
        "outputs": "binary_logit",
    }
    adapter = build("torch", fields, tmp_path, name="bc")
    x = torch.rand(6, 30)
    with torch.no_grad():
        z = one_logit_net()(x).reshape(-1)
    logits = adapter.logits(x)
    torch.testing.assert_close(logits, torch.stack([torch.zeros_like(z), z], 1))
    x.requires_grad_(True)
    (grad,) = torch.autograd.grad(adapter.module()(x)[:, 1].sum(), x)
    assert grad.abs().sum() > 0
    out = adapter.features(x.detach())
    assert out.features.shape == (6, 16)
    assert out.weight is not None and out.bias is not None and out.weight.shape == (2, 16)
    torch.testing.assert_close(out.features @ out.weight.T + out.bias, logits, atol=1e-5, rtol=0)


def test_declared_outputs_are_part_of_the_identity_and_the_default_is_as_before(
    tmp_path: Path,
) -> None:
    base = {"factory": "tests.adapters.test_binary_logit:one_logit_net", "input_shape": [30]}
    plain = build("torch", {**base, "factory_args": {"width": 2}}, tmp_path, name="bc")
    declared = build("torch", {**base, "outputs": "binary_logit"}, tmp_path, name="bc")
    assert "outputs" not in plain.describe()
    assert declared.describe()["outputs"] == "binary_logit"
    assert declared.identity() != build("torch", base, tmp_path, name="bc").identity()


def test_a_declared_binary_logit_model_with_more_outputs_is_one_line(tmp_path: Path) -> None:
    fields = {
        "factory": "tests.adapters.test_binary_logit:one_logit_net",
        "factory_args": {"width": 3},
        "input_shape": [30],
        "outputs": "binary_logit",
    }
    adapter = build("torch", fields, tmp_path, name="bc")
    with pytest.raises(ModelOutputError, match=r"'bc'.*binary_logit.*\(4, 3\)"):
        adapter.logits(torch.rand(4, 30))


@pytest.mark.parametrize("shape", [(5,), (5, 1)])
def test_black_box_scores_read_as_one_logit(shape: tuple[int, ...]) -> None:
    z = np.linspace(-2, 2, 5).reshape(shape)
    logits = to_logits(z, outputs="binary_logit", n=5, model="m")
    torch.testing.assert_close(
        logits, torch.tensor(np.stack([np.zeros(5), z.reshape(-1)], 1), dtype=torch.float32)
    )
    with pytest.raises(ModelOutputError, match="binary_logit"):
        to_logits(np.zeros((5, 2)), outputs="binary_logit", n=5, model="m")


def test_predicted_labels_declared_binary_logit_are_refused() -> None:
    """A function returning predict()'s 0/1 read as logits: the accuracy of the labels, and
    probabilities 0.5 and 0.73 for NLL, ECE and Brier (the labels' numbers as calibration)."""
    with pytest.raises(ModelOutputError, match=r"integers \(int64\).*predicted labels"):
        to_logits(np.array([0, 1, 1]), outputs="binary_logit", n=3, model="m")
    with pytest.raises(ModelOutputError, match="predicted labels"):
        to_logits(torch.tensor([[0], [1]]), outputs="binary_logit", n=2, model="m")
    with pytest.raises(ModelOutputError, match="predicted labels"):
        to_logits([0, 1], outputs="binary_logit", n=2, model="m")


def test_callable_model_takes_binary_logit() -> None:
    x, y = _data()
    net = _trained()

    def fn(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(batch)).numpy()

    result = harness.evaluate(
        harness.callable_model(fn, outputs="binary_logit"), data=(x[400:], y[400:]), name="bc"
    )
    direct = harness.evaluate(net, data=(x[400:], y[400:]), name="bc", outputs="binary_logit")
    assert result.metric("top1_acc").value == direct.metric("top1_acc").value
    assert result.metric("ece").value == pytest.approx(direct.metric("ece").value, abs=1e-6)


def test_a_spec_runs_a_binary_logit_model_through_the_cli_with_every_detector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`harness run` with `outputs: binary_logit`: accuracy as the sigmoid reads it, and the
    feature and last-layer OOD detectors (ViM, ReAct, ASH, DICE) available, not left out."""
    import json

    import pandas as pd
    from safetensors.torch import save_file

    from harness.cli.main import main

    x, y = _data()
    frame = pd.DataFrame(x.numpy(), columns=[f"f{i}" for i in range(30)]).assign(label=y.numpy())
    frame.iloc[:400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "test.csv", index=False)
    net = _trained()
    save_file(net.state_dict(), tmp_path / "bc.safetensors")
    (tmp_path / "spec.yaml").write_text(
        "tasks:\n"
        "  - {name: bc, source: test.csv, modality: tabular, label_column: label,"
        " train_source: train.csv}\n"
        "models:\n"
        "  - {name: bc-net, adapter: torch, factory: 'tests.adapters.test_binary_logit:"
        "one_logit_net', weights: bc.safetensors, input_shape: [30], modality: tabular,"
        " outputs: binary_logit}\n"
        "suites:\n"
        "  accuracy: {}\n"
        "  shift: {tabular: [], ood_sets: [{generated: uniform_noise, n: 100}],"
        " ood: {detectors: [energy, mahalanobis, vim, react, ash, dice]}}\n"
    )
    out = tmp_path / "results"
    assert main(["run", str(tmp_path / "spec.yaml"), "--out", str(out), "--no-cache"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", str(out), "--format", "json", "--all-metrics"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    with torch.no_grad():
        z = net(x[400:]).squeeze(1)
    assert row["top1_acc"] == pytest.approx(float(((z > 0).long() == y[400:]).float().mean()))
    assert row["ece_flags"] == []  # sigmoid(z) is the model's probability
    for detector in ("mahalanobis", "vim", "react", "ash", "dice"):
        value = row[f"ood_auroc[ood=uniform_noise,score={detector}]"]
        assert value is not None and 0.0 <= value <= 1.0, detector


@pytest.mark.parametrize("kind", ["fp16", "int8"])
def test_a_variant_of_a_binary_logit_model_keeps_its_features(tmp_path: Path, kind: str) -> None:
    from harness.adapters.variants.adapter import VariantAdapter
    from harness.config.variants import parse_variant

    fields = {
        "factory": "tests.adapters.test_binary_logit:one_logit_net",
        "input_shape": [30],
        "outputs": "binary_logit",
    }
    parent = build("torch", fields, tmp_path, name="bc")
    variant = VariantAdapter(
        f"bc@{kind}", parent, parse_variant(kind, where="test"), device=torch.device("cpu")
    )
    x = torch.rand(4, 30)
    out = variant.features(x)
    assert out.logits.shape == (4, 2) and bool((out.logits[:, 0] == 0).all())
    assert out.features.shape == (4, 16)
    if kind == "fp16":  # the int8 layer's weight is not the float computation (a note instead)
        assert out.weight is not None and out.weight.shape == (2, 16)


def test_an_onnx_graph_with_one_logit_per_input_reads_as_the_pair(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    net = one_logit_net().eval()
    path = export_onnx(net, torch.zeros(2, 30), tmp_path / "bc.onnx", names=("x", "logit"))
    fields = {"path": str(path), "input_shape": [30], "modality": "tabular"}
    adapter = build("onnx", {**fields, "outputs": "binary_logit"}, tmp_path, name="bc")
    x = torch.rand(5, 30)
    with torch.no_grad():
        z = net(x)[:, 0]
    torch.testing.assert_close(adapter.logits(x), torch.stack([torch.zeros(5), z], 1))
    undeclared = build("onnx", fields, tmp_path, name="bc")
    assert undeclared.logits(x).shape == (5, 1)  # refused by the suites' shape check (above)


def test_an_onnx_graph_with_a_flat_logit_output_reads_as_the_pair(tmp_path: Path) -> None:
    """Shape (batch,) is one of the two documented shapes: it was refused as 'expected (batch,
    classes)' before the declaration was read."""
    pytest.importorskip("onnxruntime")
    net = one_logit_net(squeeze=True).eval()
    path = export_onnx(net, torch.zeros(2, 30), tmp_path / "bc.onnx", names=("x", "logit"))
    fields = {"path": str(path), "input_shape": [30], "modality": "tabular"}
    adapter = build("onnx", {**fields, "outputs": "binary_logit"}, tmp_path, name="bc")
    x = torch.rand(5, 30)
    with torch.no_grad():
        z = net(x)
    torch.testing.assert_close(adapter.logits(x), torch.stack([torch.zeros(5), z], 1))


def test_a_torchscript_program_with_one_logit_per_input_reads_as_the_pair(tmp_path: Path) -> None:
    net = one_logit_net().eval()
    torch.jit.save(torch.jit.script(net), str(tmp_path / "bc.pt"))
    fields = {"path": "bc.pt", "input_shape": [30], "modality": "tabular"}
    adapter = build("torchscript", {**fields, "outputs": "binary_logit"}, tmp_path, name="bc")
    x = torch.rand(5, 30)
    with torch.no_grad():
        z = net(x)[:, 0]
    torch.testing.assert_close(adapter.logits(x), torch.stack([torch.zeros(5), z], 1))
    assert adapter.describe()["outputs"] == "binary_logit"
    assert "outputs" not in build("torchscript", fields, tmp_path, name="bc").describe()


def sigmoid_net() -> nn.Module:
    """one_logit_net with a final Sigmoid (inside a nested Sequential): a probability out."""
    return nn.Sequential(nn.Sequential(one_logit_net(), nn.Sigmoid()))


def test_a_network_ending_in_a_sigmoid_is_refused_not_read_as_a_logit(tmp_path: Path) -> None:
    """Read as a logit, a probability p > 0 puts every input in the second class: accuracy
    would be the share of that class."""
    x, y = _data()
    with pytest.raises(ModelLoadError, match=r"ends in nn.Sigmoid \('0.1'\)"):
        harness.evaluate(sigmoid_net(), data=(x, y), name="bc", outputs="binary_logit")
    fields = {
        "factory": "tests.adapters.test_binary_logit:sigmoid_net",
        "input_shape": [30],
        "outputs": "binary_logit",
    }
    with pytest.raises(ModelLoadError, match="without its final Sigmoid"):
        build("torch", fields, tmp_path, name="bc")
    with pytest.raises(ClassCountError, match="a final Sigmoid"):  # undeclared: both readings
        harness.evaluate(sigmoid_net(), data=(x, y), name="bc")


def test_a_sigmoid_followed_by_a_flatten_is_refused_too() -> None:
    """nn.Flatten(0) after the Sigmoid (the (batch,) shape the docs allow) hid it: read as a
    logit, the probability put every input in the second class (accuracy 0.627 on breast
    cancer, that class's share)."""
    x, y = _data()
    for tail in (nn.Flatten(0), nn.Dropout(0.1), nn.Identity()):
        net = nn.Sequential(one_logit_net(), nn.Sigmoid(), tail)
        with pytest.raises(ModelLoadError, match=r"ends in nn.Sigmoid \('1'\)"):
            harness.evaluate(net, data=(x, y), name="bc", outputs="binary_logit")


def test_an_onnx_graph_ending_in_a_sigmoid_is_refused_as_binary_logit(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = export_onnx(
        sigmoid_net().eval(), torch.zeros(2, 30), tmp_path / "p.onnx", names=("x", "p")
    )
    fields = {"path": str(path), "input_shape": [30], "outputs": "binary_logit"}
    with pytest.raises(ModelLoadError, match="ends in a Sigmoid"):
        build("onnx", fields, tmp_path, name="bc")


class _SigmoidInside(nn.Module):
    """one_logit_net whose forward applies a sigmoid itself (no nn.Sigmoid to be seen)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def test_scores_that_all_look_like_probabilities_are_noted() -> None:
    """A sigmoid applied inside forward() cannot be seen in the module's structure: declared
    binary_logit, its probabilities were read as logits, every input went to the second class
    and the accuracy was that class's share, with no word. Every job of such a model now notes
    that all its scores on the task's first samples lie in [0, 1], as probabilities' do; a
    model whose logits leave [0, 1] gets no such note."""
    x, y = _data()
    suspect = harness.evaluate(
        _SigmoidInside(_trained()), data=(x[400:], y[400:]), name="bc", outputs="binary_logit"
    )
    (note,) = [n for n in suspect.results["accuracy"].notes if "lies in [0, 1]" in n]
    assert note.startswith("caveat: every score of model '_SigmoidInside' on the first 169")
    honest = harness.evaluate(
        _trained(), data=(x[400:], y[400:]), name="bc", outputs="binary_logit"
    )
    assert not any("lies in [0, 1]" in n for n in honest.results["accuracy"].notes)


def test_the_notes_look_builds_no_graph() -> None:
    """The note's pass over the task's first 256 samples, and the probe pass before the suite,
    ran with autograd on: a function over a trainable module built a graph for those inputs,
    only to look at the numbers. Every pass of the harness's own checks runs without one."""
    x, y = _data()
    net = _trained()
    net.requires_grad_(True)
    building: list[bool] = []
    net.register_forward_pre_hook(lambda *_: building.append(torch.is_grad_enabled()))
    # a function over the module: its calls are the model's own, grad mode as the caller has it
    model = harness.callable_model(
        lambda batch: net(batch).squeeze(-1), outputs="binary_logit", input_format="torch"
    )
    harness.evaluate(model, data=(x[400:], y[400:]), name="bc")
    assert building and not any(building)


def test_an_unavailable_binary_logit_model_is_not_run_for_the_note() -> None:
    """The caveat's forward pass is not asked of a model whose jobs are skipped (an unavailable
    variant carries its parent's `outputs`): it would fail a job that runs nothing."""
    from harness.core.model_calls import CheckedAdapter
    from harness.data.builtin import diabetes

    class _Unavailable:
        name = "gone"
        unavailable_reason = "needs a GPU"

        def describe(self) -> dict[str, str]:
            return {"outputs": "binary_logit"}

        def logits(self, inputs: object) -> torch.Tensor:
            raise AssertionError("an unavailable model was run")

    checked = CheckedAdapter(_Unavailable(), diabetes())  # type: ignore[arg-type]
    assert checked.input_notes() == []
