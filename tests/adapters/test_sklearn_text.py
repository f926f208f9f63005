"""A scikit-learn text pipeline (a vectoriser first) as a model: from a .skops file with
`modality: text` through `harness run`, and held in memory through `harness.evaluate`. Scored as
sklearn scores it; the black-box text attacks run on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import harness
from harness.cli.main import main
from harness.store.run_store import load_jobs


def _pipeline(texts: list[str], labels: np.ndarray) -> object:
    return make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)


def test_a_saved_text_pipeline_runs_from_a_spec(
    text_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = pd.read_csv(text_csv)
    model = _pipeline(list(frame["text"]), frame["label"].to_numpy())
    sio.dump(model, tmp_path / "tfidf.skops")
    spec = tmp_path / "spec.yaml"
    model_line = "{name: tfidf, adapter: sklearn, path: tfidf.skops, modality: text}"
    spec.write_text(
        f"name: t\ndevice: cpu\nbootstrap_resamples: 20\ntasks:\n  - {{name: reviews, source: "
        f"{text_csv}, modality: text, input_column: text, label_column: label}}\n"
        f"models: [{model_line}]\nsuites: {{accuracy: {{}}, adversarial: {{}}}}\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 0, capsys.readouterr()
    jobs = {j.record.suite: j for _, j in load_jobs(tmp_path / "out")}
    table = jobs["accuracy"].table().frame
    expected = model.predict(list(frame["text"]))
    order = [int(s.rsplit("-", 1)[1]) for s in table["sample_id"]]  # reviews-000007: row 7
    assert (table["prediction"].to_numpy() == expected[order]).all()
    attacked = jobs["adversarial"].table().frame
    assert (attacked["condition"] != "clean").any()

    # the same file without modality: text reads numbers: one line naming the fix
    spec.write_text(spec.read_text().replace(", modality: text}]", "}]"))
    assert main(["run", str(spec), "--out", str(tmp_path / "out2")]) == 1
    err = capsys.readouterr().err
    assert "model 'tfidf' takes numbers; task 'reviews' is text: set modality: text" in err


def test_a_text_pipeline_in_memory_is_attacked_as_a_black_box() -> None:
    rng = np.random.default_rng(0)
    words = {0: ["bad", "awful", "poor"], 1: ["good", "great", "fine"]}
    filler = ["the", "movie", "was", "plot", "story"]
    labels = rng.integers(0, 2, 160)
    texts = [" ".join([*rng.choice(filler, 3), rng.choice(words[int(label)])]) for label in labels]
    model = _pipeline(texts[:100], labels[:100])
    got = harness.evaluate(
        model,
        data=(texts[100:], labels[100:]),
        suites=["accuracy", "adversarial"],
        device="cpu",
        bootstrap_resamples=0,
    )
    proba = model.predict_proba(texts[100:])
    assert got.metric("top1_acc").value == pytest.approx(
        float((proba.argmax(1) == labels[100:]).mean()), abs=1e-12
    )
    robust = [m for m in got.metrics if m.metric == "robust_acc"]
    assert robust and all(m.value <= got.metric("top1_acc").value for m in robust)
    assert any(m.value < got.metric("top1_acc").value for m in robust)  # the attacks bite


@pytest.mark.parametrize("key", ["input_shape: [4]", "bounds: [0, 1]"])
def test_validate_refuses_a_shape_on_a_text_pipeline(
    key: str, text_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`modality: text` with `input_shape` (or `bounds`) passed `harness validate` ("valid — 2
    jobs") and failed every job of `harness run`; it is a contradiction within the model's own
    entry, refused before any job, naming the model and the key."""
    frame = pd.read_csv(text_csv)
    sio.dump(_pipeline(list(frame["text"]), frame["label"].to_numpy()), tmp_path / "m.skops")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"tasks:\n  - {{name: reviews, source: {text_csv}, modality: text, input_column: text, "
        "label_column: label}\nmodels: [{name: tfidf, adapter: sklearn, path: m.skops, "
        f"modality: text, {key}}}]\nsuites: {{accuracy: {{}}}}\n"
    )
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err
    name = key.split(":")[0]
    assert f"models[0](tfidf): {name} does not apply to modality: text" in err, err
    assert len(err.strip().splitlines()) == 1
