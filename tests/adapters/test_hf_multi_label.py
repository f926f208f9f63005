"""A Hugging Face checkpoint trained for multi-label classification is refused in one line.

Its outputs are independent sigmoid scores per class; every suite reads a classifier's outputs as
single-label logits (a softmax over classes), so its NLL, ECE, Brier, attack losses and OOD scores
would describe a distribution the model never gives. Before, such a checkpoint was evaluated
like any other and those numbers were shown without a word.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.core.errors import ModelLoadError
from tests.adapters.builders import build
from tests.adapters.conftest import save_tiny_vit

tf = pytest.importorskip("transformers")


def test_a_multi_label_image_checkpoint_is_refused(tmp_path: Path) -> None:
    folder = save_tiny_vit(tmp_path / "multi", problem_type="multi_label_classification")
    with pytest.raises(ModelLoadError, match="problem_type is multi_label_classification"):
        build("hf-image", {"path": str(folder)}, Path("."), name="m")


def test_a_single_label_checkpoint_still_builds(tmp_path: Path) -> None:
    folder = save_tiny_vit(tmp_path / "single", problem_type="single_label_classification")
    adapter = build("hf-image", {"path": str(folder)}, Path("."), name="m")
    assert adapter.logits(torch.rand(2, 3, 16, 16)).shape == (2, 10)


def test_a_multi_label_text_checkpoint_is_refused(hf_text_dir: Path, tmp_path: Path) -> None:
    config = tf.AutoConfig.from_pretrained(hf_text_dir)
    config.problem_type = "multi_label_classification"
    model = tf.AutoModelForSequenceClassification.from_pretrained(hf_text_dir, config=config)
    folder = tmp_path / "text"
    model.save_pretrained(folder)
    tf.AutoTokenizer.from_pretrained(hf_text_dir).save_pretrained(folder)
    with pytest.raises(ModelLoadError, match="problem_type is multi_label_classification"):
        build("hf-text", {"path": str(folder)}, Path("."), name="m")


def test_a_checkpoint_whose_label2id_and_id2label_disagree_is_refused(tmp_path: Path) -> None:
    """The same contradiction when the model loads (a hub model, or a run without validate):
    one line naming the config file."""
    ids = {i: str(i) for i in range(10)}
    ids[0], ids[1] = "1", "0"
    folder = save_tiny_vit(
        tmp_path / "swapped", id2label=ids, label2id={str(i): i for i in range(10)}
    )
    with pytest.raises(ModelLoadError) as err:
        build("hf-image", {"path": str(folder)}, Path("."), name="m")
    assert str(err.value) == (
        f"model 'm': {folder / 'config.json'}: label2id gives '0' output 0 but id2label names "
        "output 1 '0' (and 1 more); the two disagree on which output is which class, so fix the "
        "checkpoint's config (the harness reads id2label)"
    )
