"""A text task from local CSV through `harness run`: accuracy, fairness, throughput (tokens/s),
and the adversarial suite's stated skip for discrete inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from harness.cli.main import main
from harness.store.run_store import load_jobs


def reference_predictions(model_dir: Path, csv: Path) -> np.ndarray:
    """Predictions straight from transformers, one text at a time (no adapter, no padding)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.no_grad():
        return np.asarray(
            [
                int(model(**tok(t, return_tensors="pt")).logits.argmax())
                for t in pd.read_csv(csv)["text"]
            ]
        )


def write_spec(path: Path, hf_text_dir: Path, text_csv: Path) -> Path:
    path.write_text(
        f"""\
name: text-e2e
device: cpu
bootstrap_resamples: 50
tasks:
  - name: reviews
    source: {text_csv}
    split: test
    modality: text
    input_column: text
    label_column: label
    group_columns: [source]
    class_names: [neg, pos]
models:
  - name: tiny-bert
    adapter: hf-text
    path: {hf_text_dir}
  - name: length-rule
    adapter: callable
    callable: tests.adapters.callables:text_length_scores
    modality: text
suites:
  accuracy: {{}}
  fairness: {{min_group_size: 5}}
  adversarial: {{}}
  throughput: {{batch_sizes: [8], warmup_iters: 1, timed_iters: 3, isolation: inprocess}}
"""
    )
    return path


def test_text_task_runs_end_to_end(
    hf_text_dir: Path, text_csv: Path, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    spec = write_spec(tmp_path / "text.yaml", hf_text_dir, text_csv)
    code = main(["run", str(spec), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code in (0, 1), err
    failed = [line for line in err.splitlines() if line.startswith("error: job")]
    assert failed == [] or all("tiny-bert × reviews × fairness" in f for f in failed), failed
    jobs = {(j.record.model, j.record.suite): (m, j) for m, j in load_jobs(tmp_path / "out")}
    _, acc = jobs[("tiny-bert", "accuracy")]
    table = acc.table().frame
    assert (table["prediction"].to_numpy() == reference_predictions(hf_text_dir, text_csv)).all()
    metrics = {r.metric: r for r in acc.metrics if r.condition == "clean"}
    assert metrics["top1_acc"].value == table["correct"].mean()
    assert set(table["group:source"]) == {"a", "b"}
    _, rule = jobs[("length-rule", "accuracy")]
    assert {r.metric: r.value for r in rule.metrics}["top1_acc"] == 0.5  # all texts 4 words
    _, fair = jobs[("length-rule", "fairness")]
    assert fair.record.status == "completed"
    assert any("source" in json.dumps(r.to_dict()) for r in fair.metrics)
    _, adv = jobs[("tiny-bert", "adversarial")]
    assert adv.record.status == "skipped"
    assert "discrete text inputs" in (adv.record.reason or "")
    _, speed = jobs[("tiny-bert", "throughput")]
    tokens = [r for r in speed.metrics if r.metric == "throughput_tokens_per_s"]
    assert tokens and tokens[0].value is not None and tokens[0].value > 0


def test_fairness_with_undefined_disparities_completes(
    hf_text_dir: Path, text_csv: Path, tmp_path: Path
) -> None:
    """Undefined disparities (None, never NaN) must not break the job's JSON artifacts."""
    spec = write_spec(tmp_path / "text.yaml", hf_text_dir, text_csv)
    args = ["run", str(spec), "--out", str(tmp_path / "out"), "--models", "tiny-bert"]
    assert main([*args, "--suites", "fairness"]) == 0
