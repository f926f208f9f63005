"""A transformers sequence classifier and its tokenizer held in memory go into
`harness.evaluate(model, tokenizer=...)` as the `hf-text` adapter's saved folder does: the same
numbers, an identity that follows the weights, config and tokenizer, and the model given back as
it was. An nn.Module on texts without a tokenizer is one line saying what to pass."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

import harness
from harness.core.errors import HarnessError, ModelLoadError

pytest.importorskip("transformers")


def _objects(folder: Path):  # noqa: ANN202
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return (
        AutoModelForSequenceClassification.from_pretrained(folder),
        AutoTokenizer.from_pretrained(folder),
    )


def _data(text_csv: Path) -> tuple[list[str], list[int]]:
    frame = pd.read_csv(text_csv)
    return frame["text"].tolist(), frame["label"].tolist()


def test_in_memory_objects_give_the_saved_folders_numbers(
    hf_text_dir: Path, text_csv: Path
) -> None:
    model, tokenizer = _objects(hf_text_dir)
    texts, labels = _data(text_csv)
    options = {"data": (texts, labels), "class_names": ["neg", "pos"], "device": "cpu"}
    held = harness.evaluate(model, tokenizer=tokenizer, name="reviews-own", **options)
    saved = harness.evaluate(
        {"name": "bert", "adapter": "hf-text", "path": str(hf_text_dir)},
        name="reviews-own",
        **options,
    )
    for key in ("top1_acc", "ece", "nll"):
        assert held.metric(key).value == saved.metric(key).value, key
    assert held.metric("top1_acc").value > 0.5


def test_the_identity_follows_weights_and_tokenizer(hf_text_dir: Path) -> None:
    from harness.adapters.hf_text import HFTextAdapter

    model, tokenizer = _objects(hf_text_dir)
    first = HFTextAdapter.from_objects(model, tokenizer, name="m").identity()
    assert HFTextAdapter.from_objects(model, tokenizer, name="m").identity() == first
    tokenizer.truncation_side = "left"  # added tokens: tests/adapters/test_hf_text_vocab_rows.py
    assert HFTextAdapter.from_objects(model, tokenizer, name="m").identity() != first
    model2, tokenizer2 = _objects(hf_text_dir)
    with torch.no_grad():
        model2.classifier.bias += 1.0
    assert HFTextAdapter.from_objects(model2, tokenizer2, name="m").identity() != first


def test_a_config_without_a_pad_id_comes_back_without_one(
    hf_text_dir: Path, text_csv: Path
) -> None:
    model, tokenizer = _objects(hf_text_dir)
    model.config.pad_token_id = None
    texts, labels = _data(text_csv)
    harness.evaluate(
        model, tokenizer=tokenizer, data=(texts, labels), class_names=["neg", "pos"], name="r"
    )
    assert model.config.pad_token_id is None


def test_what_does_not_fit_is_one_line(hf_text_dir: Path, text_csv: Path) -> None:
    model, tokenizer = _objects(hf_text_dir)
    texts, labels = _data(text_csv)
    data = {"data": (texts, labels), "class_names": ["neg", "pos"], "name": "r"}
    with pytest.raises(HarnessError, match=r"pass its tokenizer \(harness.evaluate"):
        harness.evaluate(model, **data)
    with pytest.raises(HarnessError, match="tokenizer: goes with"):
        harness.evaluate(lambda batch: batch, tokenizer=tokenizer, **data)
    with pytest.raises(HarnessError, match="tokenizer: task 'img' is image"):
        harness.evaluate(
            model,
            tokenizer=tokenizer,
            data=(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])),
            name="img",
        )
    with pytest.raises(ModelLoadError, match="not a transformers tokenizer"):
        harness.evaluate(model, tokenizer={"vocab": 1}, **data)
    tokenizer.pad_token = None
    with pytest.raises(ModelLoadError, match="has no pad token"):
        harness.evaluate(model, tokenizer=tokenizer, **data)


def test_label_map_picks_the_model_labels_for_the_task_classes(
    hf_text_dir: Path, text_csv: Path
) -> None:
    """The refusal of labels that do not match says `set label_map`: the Python caller can."""
    model, tokenizer = _objects(hf_text_dir)
    texts, labels = _data(text_csv)
    data = {"data": (texts, labels), "name": "r", "device": "cpu"}
    with pytest.raises(HarnessError, match="set label_map"):
        harness.evaluate(model, tokenizer=tokenizer, class_names=["bad", "good"], **data)
    mapped = harness.evaluate(
        model, tokenizer=tokenizer, class_names=["bad", "good"], label_map=["neg", "pos"], **data
    )
    plain = harness.evaluate(model, tokenizer=tokenizer, class_names=["neg", "pos"], **data)
    assert mapped.metric("top1_acc").value == plain.metric("top1_acc").value
    swapped = harness.evaluate(
        model, tokenizer=tokenizer, class_names=["bad", "good"], label_map=["pos", "neg"], **data
    )
    assert swapped.metric("top1_acc").value == pytest.approx(1 - plain.metric("top1_acc").value)
    with pytest.raises(HarnessError, match="label_map: goes with"):
        harness.evaluate(model, label_map=["neg", "pos"], class_names=["neg", "pos"], **data)


def test_a_label_map_that_does_not_fit_is_named(hf_text_dir: Path, text_csv: Path) -> None:
    """A one-entry label_map was reported as a model with 1 label ('has 1 labels but task has 2
    classes; set label_map'), of a two-label model given a label_map; label ids in place of
    names raised AttributeError ('int' object has no attribute 'strip')."""
    model, tokenizer = _objects(hf_text_dir)
    texts, labels = _data(text_csv)
    data = {"data": (texts, labels), "name": "r", "class_names": ["neg", "pos"], "device": "cpu"}
    with pytest.raises(HarnessError, match=r"label_map names 1 model label but task 'r' has 2"):
        harness.evaluate(model, tokenizer=tokenizer, label_map=["neg"], **data)
    with pytest.raises(HarnessError, match=r"label_map: .*0 \(int\)"):
        harness.evaluate(model, tokenizer=tokenizer, label_map=[0, 1], **data)


def test_a_one_output_model_is_told_what_label_map_cannot_do(hf_text_dir: Path) -> None:
    """A sequence classifier with num_labels 1 (a regression head, or one logit) was told to
    `set label_map`, which cannot turn one output into two classes."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    config = AutoConfig.from_pretrained(hf_text_dir)
    config.num_labels = 1  # id2label {0: LABEL_0}
    model = AutoModelForSequenceClassification.from_config(config)
    tokenizer = AutoTokenizer.from_pretrained(hf_text_dir)
    texts = ["the movie was good", "the plot was bad"] * 4
    with pytest.raises(HarnessError, match="has one output .*num_labels 2") as caught:
        harness.evaluate(
            model, tokenizer=tokenizer, data=(texts, [1, 0] * 4), class_names=["neg", "pos"]
        )
    assert "set label_map" not in str(caught.value)
