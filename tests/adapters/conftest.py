"""Tiny models in every format the adapters read, built offline and saved in temp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from harness.data.builtin import diabetes_arrays
from tests.adapters.builders import export_onnx
from tests.fixture_models import linear_digits

WORDS = [
    "good",
    "great",
    "fine",
    "nice",
    "bad",
    "awful",
    "poor",
    "sad",
    "the",
    "movie",
    "was",
    "plot",
]
POSITIVE = {"good", "great", "fine", "nice"}


def digits_net() -> torch.nn.Module:
    return linear_digits().eval()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("adapter-models")


@pytest.fixture(scope="session")
def hf_image_dir(model_dir: Path) -> Path:
    """A 10-class ViT (16x16 RGB input, 8x8 patches) with its image processor."""
    return save_tiny_vit(model_dir / "vit")


def save_tiny_vit(out: Path, **config: object) -> Path:
    """A 10-class ViT (16x16 RGB input, 8x8 patches) with its image processor, saved to `out`;
    `config` overrides ViTConfig fields (e.g. problem_type, id2label)."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels: dict[str, object] = {
        "num_channels": 3,
        "id2label": {i: str(i) for i in range(10)},
        "label2id": {str(i): i for i in range(10)},
    }
    vit = ViTConfig(
        image_size=16,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=10,
        **{**labels, **config},
    )
    ViTForImageClassification(vit).save_pretrained(out)
    ViTImageProcessor(
        size={"height": 16, "width": 16}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    ).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def hf_text_dir(model_dir: Path) -> Path:
    """A 2-class BERT (labels neg/pos) with a WordLevel tokenizer built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=2,
        id2label={0: "neg", 1: "pos"},
        label2id={"neg": 0, "pos": 1},
    )
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # word embeddings that separate positive from negative words
        emb = model.bert.embeddings.word_embeddings.weight
        emb.zero_()
        for word in WORDS:
            emb[vocab[word], 0] = 3.0 if word in POSITIVE else -3.0
    _fit_sentiment(model, fast)
    out = model_dir / "bert"
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out


def _fit_sentiment(model: torch.nn.Module, tokenizer: object) -> None:
    """A few seeded full-batch steps on `the movie was <word>`, so the prediction follows the
    sentiment word (at its random initialisation the tiny BERT predicts one class for every
    text, and no attack could change that)."""
    words = [w for w in WORDS[:8]]
    texts = [f"the {noun} was {w}" for noun in ("movie", "plot") for w in words]
    labels = torch.tensor([int(w in POSITIVE) for _ in ("movie", "plot") for w in words])
    batch = tokenizer(texts, return_tensors="pt", padding=True)  # type: ignore[operator]
    torch.manual_seed(0)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(40):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels)
        loss.backward()
        optimiser.step()
    model.eval()


@pytest.fixture(scope="session")
def text_csv(model_dir: Path) -> Path:
    """40 short reviews: label 1 iff a positive word occurs; a `source` group column."""
    rng = np.random.default_rng(0)
    rows = []
    pos, neg = sorted(POSITIVE), sorted(set(WORDS[:8]) - POSITIVE)
    for i in range(40):
        label = i % 2
        word = pos[rng.integers(len(pos))] if label else neg[rng.integers(len(neg))]
        rows.append(
            {"text": f"the movie was {word}", "label": label, "source": "a" if i < 20 else "b"}
        )
    path = model_dir / "reviews.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def onnx_path(model_dir: Path) -> Path:
    """linear_digits exported with a dynamic batch dimension (input name `pixels`)."""
    return export_onnx(
        digits_net(), torch.rand(2, 1, 8, 8), model_dir / "digits.onnx", names=("pixels", "logits")
    )


@pytest.fixture(scope="session")
def torchscript_path(model_dir: Path) -> Path:
    path = model_dir / "digits.pt"
    torch.jit.trace(digits_net(), torch.rand(2, 1, 8, 8)).save(str(path))
    return path


@pytest.fixture(scope="session")
def export_path(model_dir: Path) -> Path:
    path = model_dir / "digits.pt2"
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    program = torch.export.export(
        digits_net(), (torch.rand(2, 1, 8, 8),), dynamic_shapes=({0: batch},)
    )
    torch.export.save(program, str(path))
    return path


@pytest.fixture(scope="session")
def sklearn_paths(model_dir: Path) -> dict[str, Path]:
    """LogisticRegression fitted on the diabetes train split, saved with skops and joblib."""
    import joblib
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    x, y = diabetes_arrays("train")
    est = LogisticRegression(max_iter=1000).fit(x.reshape(len(x), -1), y)
    paths = {"skops": model_dir / "logreg.skops", "joblib": model_dir / "logreg.joblib"}
    sio.dump(est, paths["skops"])
    joblib.dump(est, paths["joblib"])
    return paths
