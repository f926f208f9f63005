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

tf = pytest.importorskip("transformers")


def _vit(folder: Path, problem_type: str | None) -> Path:
    torch.manual_seed(0)
    config = tf.ViTConfig(
        image_size=16,
        patch_size=8,
        num_channels=3,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=10,
        id2label={i: str(i) for i in range(10)},
        label2id={str(i): i for i in range(10)},
        problem_type=problem_type,
    )
    tf.ViTForImageClassification(config).save_pretrained(folder)
    tf.ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(folder)
    return folder


def test_a_multi_label_image_checkpoint_is_refused(tmp_path: Path) -> None:
    folder = _vit(tmp_path / "multi", "multi_label_classification")
    with pytest.raises(ModelLoadError, match="problem_type is multi_label_classification"):
        build("hf-image", {"path": str(folder)}, Path("."), name="m")


def test_a_single_label_checkpoint_still_builds(tmp_path: Path) -> None:
    folder = _vit(tmp_path / "single", "single_label_classification")
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
