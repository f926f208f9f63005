"""`harness.evaluate(model, data=...)`: every kind of data in memory gives the same task content,
a content fingerprint like any task, and no copy of float32 tensors."""

from __future__ import annotations

import datasets
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

import harness
from harness.data.builtin import diabetes_arrays, digits_arrays
from tests.fixture_models import linear_digits, linear_tabular
from tests.python_api.models import KeywordText

FAST = {"device": "cpu", "bootstrap_resamples": 0}


def _stacked(items: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
    return [torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])]


@pytest.fixture(scope="module")
def digits_xy() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = digits_arrays("test")
    return torch.from_numpy(x[:120].copy()), torch.from_numpy(y[:120].copy())


def _top1(result: harness.EvaluationResult) -> float:  # type: ignore[name-defined]
    return result.metric("top1_acc").value


def test_tensors_are_used_in_place_and_match_the_catalogue_task(digits_xy) -> None:
    x, y = digits_xy
    model = linear_digits()
    memory = harness.evaluate(model, data=(x, y), **FAST)
    column = memory.provenance.task.data.data.column("input").chunk(0)
    assert column.values.buffers()[1].address == x.data_ptr()  # a view, not a copy
    # the same images through the catalogue task: the same predictions
    catalogue = harness.evaluate(model, task="digits", **FAST).table.to_pandas()
    ours = memory.table.to_pandas()
    assert ours["prediction"].tolist() == catalogue["prediction"].head(120).tolist()
    assert len(ours) == 120 and ours["sample_id"].iloc[0] == "000"


def test_every_kind_gives_the_same_fingerprint(digits_xy) -> None:
    x, y = digits_xy
    model = linear_digits()
    kinds = {
        "tensors": (x, y),
        "numpy": (x.numpy(), y.numpy()),
        "float64 numpy": (x.numpy().astype(np.float64), y.numpy()),
        "dataset": TensorDataset(x, y),
        "loader": DataLoader(TensorDataset(x, y), batch_size=50),
        # a collate_fn of the caller's own that batches alike each time is read as any loader
        "own collate": DataLoader(TensorDataset(x, y), batch_size=50, collate_fn=_stacked),
        "hf": datasets.Dataset.from_dict({"image": x.numpy(), "label": y.numpy()}),
    }
    prints = {}
    for kind, data in kinds.items():
        result = harness.evaluate(model, data=data, **FAST)
        prints[kind] = result.task_fingerprint
        assert _top1(result) == pytest.approx(_top1(harness.evaluate(model, data=(x, y), **FAST)))
    assert len(set(prints.values())) == 1, prints


def test_fingerprint_is_content(digits_xy) -> None:
    x, y = digits_xy
    model = linear_digits()

    def print_of(**kwargs) -> str:
        return harness.evaluate(model, suites=[], **FAST, **kwargs).task_fingerprint

    base = print_of(data=(x, y))
    assert print_of(data=(x.clone(), y.clone()), name="other-name") == base
    changed = x.clone()
    changed[7, 0, 3, 3] = 1.0 - changed[7, 0, 3, 3]
    assert print_of(data=(changed, y)) != base
    flipped = y.clone()
    flipped[0] = (flipped[0] + 1) % 10
    assert print_of(data=(x, flipped)) != base
    assert print_of(data=(x, y), bounds=(0.0, 2.0)) != base
    groups = pd.DataFrame({"half": ["a"] * 60 + ["b"] * 60})
    assert print_of(data=(x, y), groups=groups) != base


def test_limit_draws_rows_out_of_the_tensor(digits_xy) -> None:
    x, y = digits_xy
    result = harness.evaluate(linear_digits(), data=(x, y), limit=30, **FAST)
    frame = result.table.to_pandas()
    assert len(frame) == 30
    rows = torch.tensor(frame["sample_id"].astype(int).to_list())
    with torch.inference_mode():
        expected = linear_digits()(x[rows]).argmax(1).numpy()
    assert (frame["prediction"].to_numpy() == expected).all()


def test_dataframe_is_a_table_with_named_features_and_groups() -> None:
    x, y = diabetes_arrays("test")
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame["sex"] = np.where(x[:, 1] > 0, "m", "f")
    frame["label"] = y
    result = harness.evaluate(
        linear_tabular(),
        data=frame,
        groups=["sex"],
        class_names=["low", "high"],
        suites={"accuracy": {}, "fairness": {"group_by": ["sex"]}},
        **FAST,
    )
    task = result.provenance.task
    assert task.modality == "tabular" and task.input_shape == (10,)
    assert task.feature_names == tuple(f"f{i}" for i in range(10))
    assert task.class_names == ("low", "high")
    # bounds default to each feature's observed range
    assert task.feature_bounds[0] == pytest.approx((float(x[:, 0].min()), float(x[:, 0].max())))
    assert any(m.metric == "demographic_parity_difference" for m in result.metrics)
    assert set(result.table.to_pandas()["group:sex"]) == {"m", "f"}


def test_a_classlabel_group_column_shows_its_declared_names(tmp_path, capsys) -> None:  # noqa: ANN001
    """A Hugging Face dataset's `ClassLabel` group column holds codes: the groups were "0" and
    "1" everywhere, the names the dataset declares for them (female, male) dropped, while the
    label column's ClassLabel names the classes. They are the task's group labels now, shown
    beside the codes (the values, and so the fingerprint, stay the codes)."""
    from harness.cli.main import main

    x, y = diabetes_arrays("test")
    codes = (x[:, 1] > 0).astype(int)
    features = datasets.Features(
        {
            "features": datasets.Sequence(datasets.Value("float32")),
            "label": datasets.ClassLabel(names=["low", "high"]),
            "sex": datasets.ClassLabel(names=["female", "male"]),
        }
    )
    ds = datasets.Dataset.from_dict(
        {"features": x.tolist(), "label": y.tolist(), "sex": codes.tolist()}, features=features
    )
    result = harness.evaluate(
        linear_tabular(), data=ds, groups=["sex"], name="hf-groups", suites=["fairness"], **FAST
    )
    assert result.provenance.task.group_labels == {"sex": {"0": "female", "1": "male"}}
    assert set(map(str, result.table.to_pandas()["group:sex"])) == {"0", "1"}
    plain = harness.evaluate(linear_tabular(), data=(x, y), groups={"sex": codes}, **FAST)
    assert plain.task_fingerprint == result.task_fingerprint
    result.save(tmp_path / "results")
    capsys.readouterr()
    assert main(["groups", str(tmp_path / "results"), "--resamples", "0", "--width", "200"]) == 0
    out = capsys.readouterr().out
    assert "female" in out and "male" in out, out


def test_text_labels_are_read_by_class_names_as_a_spec_table_task_reads_them() -> None:
    """Labels that are the class names (a frame's text column, a dataset's string column) are
    their positions in class_names: the same task as the integer labels."""
    x, y = diabetes_arrays("test")
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    names = ["low", "high"]
    by_index = harness.evaluate(
        linear_tabular(), data=frame.assign(label=y), class_names=names, **FAST
    )
    named = frame.assign(label=np.array(names)[y])
    by_name = harness.evaluate(linear_tabular(), data=named, class_names=names, **FAST)
    assert by_name.task_fingerprint == by_index.task_fingerprint
    assert _top1(by_name) == _top1(by_index)
    texts = ["a good film", "bad", "good good", "dull and bad"]
    ds = datasets.Dataset.from_dict({"text": texts, "label": ["pos", "neg", "pos", "neg"]})
    again = harness.evaluate(KeywordText(), data=ds, class_names=["neg", "pos"], **FAST)
    assert list(again.table.to_pandas()["label"]) == [1, 0, 1, 0]


def test_texts_with_labels_and_text_datasets() -> None:
    texts = ["a good film", "bad", "good good", "dull and bad", "not good", "awful"]
    labels = [1, 0, 1, 0, 0, 0]
    result = harness.evaluate(KeywordText(), data=(texts, labels), **FAST)
    assert result.provenance.task.modality == "text"
    assert _top1(result) == pytest.approx(5 / 6)
    ds = datasets.Dataset.from_dict({"sentence": texts, "label": labels})
    again = harness.evaluate(KeywordText(), data=ds, **FAST)
    assert again.task_fingerprint == result.task_fingerprint
    loader = DataLoader(list(zip(texts, labels, strict=True)), batch_size=4)
    assert harness.evaluate(KeywordText(), data=loader, **FAST).task_fingerprint == (
        result.task_fingerprint
    )
    # a numpy array or pandas Series of texts (a column's .to_numpy()) is the same task; before,
    # np.array(texts) was refused ("x holds <U12 values; pass numbers")
    for held in (np.array(texts), np.array(texts, dtype=object), pd.Series(texts)):
        found = harness.evaluate(KeywordText(), data=(held, np.array(labels)), **FAST)
        assert found.task_fingerprint == result.task_fingerprint, type(held)
    with pytest.raises(harness.HarnessError, match=r"x holds texts and a NoneType \(sample 2\)"):
        harness.evaluate(
            KeywordText(), data=(np.array([*texts[:2], None], dtype=object), [1, 0, 1])
        )


def test_hf_image_column_is_decoded_channels_first() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=(12, 8, 8), dtype=np.uint8)
    images = [Image.fromarray(p, mode="L") for p in pixels]
    ds = datasets.Dataset.from_dict({"img": images, "y": [i % 10 for i in range(12)]})
    assert isinstance(ds.features["img"], datasets.Image)
    result = harness.evaluate(
        linear_digits(), data=ds, input_column="img", label_column="y", num_classes=10, **FAST
    )
    task = result.provenance.task
    assert task.input_shape == (1, 8, 8)
    assert torch.allclose(task.all_inputs()[3, 0], torch.from_numpy(pixels[3] / 255.0).float())


def test_task_argument_takes_the_same_data(digits_xy) -> None:
    x, y = digits_xy
    model = linear_digits()
    by_task = harness.evaluate(model, task=(x, y), **FAST)
    assert by_task.task_fingerprint == harness.evaluate(model, data=(x, y), **FAST).task_fingerprint


def test_the_module_comes_back_as_it_was(digits_xy) -> None:
    """Evaluating inside a training loop must not leave the model frozen or in eval mode."""
    x, y = digits_xy
    model = linear_digits().train()
    model[1].weight.requires_grad_(False)  # a layer the user froze stays frozen
    adversarial = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "check_samples": 8}
    harness.evaluate(
        model, data=(x, y), suites={"accuracy": {}, "adversarial": adversarial}, **FAST
    )
    assert model.training and all(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == [False, True]
    torch.nn.functional.cross_entropy(model(x), y).backward()  # still trainable


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_a_module_in_another_float_type_runs_in_it(digits_xy, dtype: torch.dtype) -> None:
    """`model.double()` / `model.half()` passed as it is: the float32 inputs are cast to its type
    (the first forward pass failed: "Input type (float) and bias type (double) should be the
    same"); its predictions are its own, gradients reach the input, and it comes back as it was."""
    x, y = digits_xy
    model = linear_digits().to(dtype)
    adversarial = {"attacks": ["fgsm"], "epsilons": {"linf": [0.1]}, "check_samples": 8}
    result = harness.evaluate(
        model, data=(x, y), suites={"accuracy": {}, "adversarial": adversarial}, **FAST
    )
    own = model(x.to(dtype)).float().argmax(1)
    rows = result.results["accuracy"].table.to_pandas()
    assert rows["prediction"].tolist() == own.tolist()
    robust = result.metric("robust_acc[attack=ensemble/norm=linf/eps=0.1]")
    assert robust.value is not None and robust.value < _top1(result)  # FGSM found gradients
    assert next(model.parameters()).dtype == dtype and model.training


def test_a_class_label_column_gives_its_names_and_its_number_of_classes(digits_xy) -> None:
    """A split that lacks the last class: the ClassLabel still says 10 classes (a count from the
    largest label would say 9 and refuse the 10-logit model), and its names label the classes."""
    x, y = digits_xy
    keep = y < 9
    names = [f"digit {i}" for i in range(10)]
    hub = datasets.Dataset.from_dict({"image": x[keep].numpy(), "label": y[keep].numpy()})
    hub = hub.cast_column("label", datasets.ClassLabel(names=names))
    got = harness.evaluate(linear_digits(), data=hub, **FAST)
    assert got.provenance is not None
    assert got.provenance.task.num_classes == 10 and got.provenance.task.class_names == tuple(names)
    plain = harness.evaluate(linear_digits(), data=(x[keep], y[keep]), num_classes=10, **FAST)
    assert _top1(got) == _top1(plain)


def test_a_count_of_classes_inferred_short_of_the_model_says_to_pass_num_classes(
    digits_xy,
) -> None:
    x, y = digits_xy
    keep = y < 9
    with pytest.raises(harness.HarnessError) as err:
        harness.evaluate(linear_digits(), data=(x[keep], y[keep]), **FAST)
    assert str(err.value) == (
        "num_classes: the model outputs 10 classes, but the labels of data go up to 8 only, so 9 "
        "classes were inferred; pass num_classes=10 (or class_names=) when the data lacks the "
        "last classes"
    )


def test_changing_the_tensor_after_evaluate_does_not_change_what_is_saved(
    digits_xy, tmp_path
) -> None:
    """The task is a view of the caller's tensor: a `x.mul_()` after `evaluate` (the next
    preprocessing step of a script) must not reach the fingerprint and job keys saved later, or
    boards would pair these results with other models' on data they were not computed on."""
    x, y = digits_xy
    x = x.clone()
    result = harness.evaluate(linear_digits(), data=(x, y), **FAST)
    x.mul_(0.5)
    truth = harness.evaluate(linear_digits(), data=(digits_xy[0], y), **FAST)
    assert result.task_fingerprint == truth.task_fingerprint
    saved = result.save(tmp_path / "a")
    again = truth.save(tmp_path / "b")
    assert saved.name == again.name  # the run id hashes the task's fingerprint


def test_a_module_of_buffers_only_is_moved_back_to_its_device(digits_xy, monkeypatch) -> None:
    """The device is restored from the first parameter or, lacking any, the first buffer: a
    module of buffers only that `device="auto"` put on a GPU stayed there. On a GPU machine
    tests/gpu checks the move itself; here, that a move back comes after the last forward."""
    x, y = digits_xy
    events: list[object] = []

    class BufferOnly(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("weight", torch.zeros(10, 64))

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            events.append("forward")
            return inputs.flatten(1) @ self.weight.T

    model = BufferOnly()
    to = torch.nn.Module.to

    def spy(self: torch.nn.Module, *args: object, **kwargs: object) -> torch.nn.Module:
        if self is model:
            events.append(torch.device(args[0] if args else kwargs["device"]))  # type: ignore[arg-type]
        return to(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.nn.Module, "to", spy)
    harness.evaluate(model, data=(x[:64], y[:64]), suites=["accuracy"], **FAST)
    assert "forward" in events and events[-1] == torch.device("cpu")


def test_printing_a_result_shows_its_headline_numbers_not_every_row(digits_xy) -> None:
    """`print(result)` printed the generated dataclass repr: every per-sample row's frame and
    every record's fields, thousands of characters. It shows each suite's headline numbers with
    interval and n, the skipped suites' reasons and where the rest is."""
    x, y = digits_xy
    result = harness.evaluate(
        linear_digits(), data=(x, y), suites=["accuracy", "fairness"], device="cpu"
    )
    text = repr(result)
    top1 = result.metric("top1_acc")
    assert text.splitlines()[0] == f"EvaluationResult: model {result.model!r} on task 'in-memory'"
    assert top1.ci is not None
    assert f"top1_acc  {top1.value:.4f} [{top1.ci[0]:.4f}, {top1.ci[1]:.4f}]  n={top1.n}" in text
    assert "fairness  skipped: task 'in-memory' has no group columns" in text
    assert "class_acc" not in text and "sample_id" not in text  # not headline, no rows
    assert str(result) == text and len(text.splitlines()) < 12


def test_printing_a_worst_group_number_gives_the_worst_groups_n(digits_xy) -> None:
    """A worst-group record's value and interval are one group's, its n every group's: print
    showed `worst_group_acc 0.0000 [0.0000, 0.1477]  n=60` for a group of 28, as if the number
    were measured on all 60. It gives the worst group's n and every group's, as the leaderboard
    (`n=... in all groups`) and the model card (`n`, `n_all_groups`) do."""
    x, y = digits_xy
    x, y = x[:60], y[:60]
    groups = np.where(np.arange(60) < 22, "a", "b")
    result = harness.evaluate(
        linear_digits(), data=(x, y), groups=groups, suites=["fairness"], **FAST
    )
    worst = result.metric("worst_group_acc[group_by=group]")
    (group,) = [
        m
        for m in result.metrics
        if m.metric == "group_acc" and m.value == worst.value and m.context.get("group")
    ]
    assert group.n in (22, 38) and worst.n == 60
    line = next(s for s in repr(result).splitlines() if "worst_group_acc" in s)
    assert line.endswith(f"n={group.n} (worst group; {worst.n} in all groups)"), line


def test_printing_a_fraction_near_0_or_1_never_reads_as_none_or_all() -> None:
    """`print(result)` wrote fractions to four decimals: an OOD AUROC of 0.99998 (a far-OOD set
    of 10,000 images) read "1.0000", a perfect detector, and a robust accuracy of 0.00004 "0.0000"
    (none robust). As the leaderboard writes them, a fraction strictly between 0 and 1 keeps the
    digits that tell it from 0 and 1; 0 and 1 themselves read 0.0000 and 1.0000."""
    from harness.core.metric_record import MetricRecord
    from harness.core.suite import SuiteResult
    from harness.run.api import EvaluationResult

    def record(metric: str, value: float, ci: tuple[float, float]) -> MetricRecord:
        return MetricRecord(
            suite="shift", metric=metric, value=value, unit="fraction", higher_is_better=True,
            n=20_000, ci=ci, ci_method="bootstrap", headline=True,
        )  # fmt: skip

    records = [
        record("ood_auroc", 0.99998, (0.99994, 1.0)),
        record("robust_acc", 0.00004, (0.0, 0.00012)),
        record("top1_acc", 1.0, (0.9998, 1.0)),
        # interval ends near an edge keep their digits too (the cases above round the same)
        record("ood_aupr", 0.99997, (0.99996, 0.99999)),
        record("robust_f1", 0.00003, (0.00002, 0.00004)),
    ]
    text = repr(EvaluationResult("m", "t", {"shift": SuiteResult(table=None, metrics=records)}))
    assert "ood_auroc   0.99998 [0.9999, 1.0000]  n=20000" in text, text
    assert "robust_acc  4e-05 [0.0000, 0.0001]  n=20000" in text, text
    assert "top1_acc    1.0000 [0.9998, 1.0000]  n=20000" in text, text
    assert "ood_aupr    0.99997 [0.99996, 0.99999]  n=20000" in text, text
    assert "robust_f1   3e-05 [2e-05, 4e-05]  n=20000" in text, text
