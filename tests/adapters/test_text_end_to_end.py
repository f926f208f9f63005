"""A text task from local CSV through `harness run`: accuracy, fairness, throughput (tokens/s),
and the adversarial suite's character- and word-level attacks (every adversarial text
re-checked here: within budget, constraints held, label changed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from harness.cli.main import main
from harness.store.run_store import load_jobs
from tests.adapters.builders import text_task


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


def check_adversarial_texts(frame: pd.DataFrame, originals: dict[str, str]) -> None:
    """Every stored adversarial text: within its budget and the word rules, label changed."""
    from harness.suites.adversarial.text.budget import TextBudget
    from harness.suites.adversarial.text.constraints import WordRules
    from harness.suites.adversarial.text.verify import check_edit

    clean = frame[frame["condition"] == "clean"].set_index("sample_id")
    hits = frame[frame["attack_success"]]
    assert len(hits) > 0
    for row in hits.itertuples():
        parts = dict(p.split("=") for p in row.condition.split("/"))
        threat = parts.get("threat") or ("char" if "edits" in parts else "word")
        budget = TextBudget(threat, float(parts["words"]), int(parts.get("edits", 1)))
        assert clean.loc[row.sample_id, "adversarial_text"] == ""  # clean rows store none
        source = originals[row.sample_id]
        size, reason = check_edit(source, row.adversarial_text, budget, WordRules())
        assert reason is None and size.words >= 1, (source, row.adversarial_text, reason)
        assert row.prediction != row.label and not row.correct


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
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    # the first screen has a line per text threat model at its largest budget: black-box, so an
    # upper bound, shown with its number and never ranked
    screen = " ".join(out.split())
    for line in (
        "robust accuracy under character edits to 20% of words (1 per word): no comparable",
        "robust accuracy under word substitutions of 20% of words: no comparable",
    ):
        assert line in screen, out
    left_out = screen.split("character edits to 20% of words")[1].split("word substitutions")[0]
    assert re.search(r"tiny-bert \d\.\d{3} \[[^]]+\], n=\d+: upper bound", left_out), out
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
    assert adv.record.status == "completed", adv.record.reason
    task = text_task(text_csv)
    originals = dict(zip(task.sample_ids, task.data[task.input_column], strict=True))
    check_adversarial_texts(adv.table().frame, originals)
    robust = {r.condition: r for r in adv.metrics if r.metric == "robust_acc" and r.headline}
    assert set(robust) == {
        f"attack=ensemble/threat=char/words={w}/edits=1" for w in ("0.1", "0.2")
    } | {f"attack=ensemble/threat=word/words={w}" for w in ("0.1", "0.2")}
    _, rule_adv = jobs[("length-rule", "adversarial")]
    assert rule_adv.record.status == "completed"
    assert any("word-level attacks did not run" in n for n in rule_adv.record.notes)
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
