"""A text model reads at most so many tokens (hf-text: `max_length`, the tokenizer's and the
position embeddings' limits); longer texts are cut, and every number on them is that of the cut
text. Each job on a text task says how many texts its model truncated, from `harness run` and
from `harness.evaluate`; nothing is said where none is cut."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import harness

pytest.importorskip("transformers")

LONG = " ".join(["the movie was good"] * 12)  # 48 words: past the tiny BERT's 32 positions


def _texts() -> tuple[list[str], list[int]]:
    return ["the movie was good", "the plot was bad", LONG, LONG.replace("good", "bad")], [
        1,
        0,
        1,
        0,
    ]


def _run_reviews(hf_text_dir: Path, tmp_path: Path, suites: dict, **settings: object):  # noqa: ANN202
    """`harness.run_spec` of the tiny BERT on the four reviews (`_texts`) written as a CSV task,
    with `suites` and run `settings`; its outcome."""
    texts, labels = _texts()
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "reviews.csv", index=False)
    spec = {
        **settings,
        "tasks": [
            {
                "name": "reviews",
                "source": "reviews.csv",
                "modality": "text",
                "input_column": "text",
                "label_column": "label",
                "class_names": ["neg", "pos"],
            }
        ],
        "models": [{"name": "bert", "adapter": "hf-text", "path": str(hf_text_dir)}],
        "suites": suites,
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return harness.run_spec(tmp_path / "spec.json", out=tmp_path / "results")


def test_evaluate_says_how_many_texts_were_cut(hf_text_dir: Path) -> None:
    model = {"name": "bert", "adapter": "hf-text", "path": str(hf_text_dir)}
    texts, labels = _texts()
    result = harness.evaluate(
        model, data=(texts, labels), class_names=["neg", "pos"], name="reviews-own", device="cpu"
    )
    (note,) = [n for n in result.results["accuracy"].notes if "truncated" in n]
    assert note.startswith("2 of 4 texts (50%) are longer than the 32 tokens model 'bert' reads")
    short = harness.evaluate(
        model, data=(texts[:2], labels[:2]), class_names=["neg", "pos"], name="r", device="cpu"
    )
    assert not any("truncated" in n for n in short.results["accuracy"].notes)


def test_a_run_records_the_note_on_every_text_job(hf_text_dir: Path, tmp_path: Path) -> None:
    suites = {"accuracy": {}, "shift": {"text": ["typo"], "ood_sets": []}}
    outcome = _run_reviews(hf_text_dir, tmp_path, suites)
    assert len(outcome.outcomes) == 2 and not outcome.failed
    for job in outcome.outcomes:  # the manifest's message, and the job record's notes
        assert "2 of 4 texts (50%) are longer than the 32 tokens" in job.message
        record = json.loads((outcome.run_dir / "jobs" / str(job.path) / "job.json").read_text())
        assert any("are truncated" in note for note in record["notes"])


def test_a_sharded_job_keeps_the_note_on_the_whole_task(hf_text_dir: Path, tmp_path: Path) -> None:
    """A sharded job's result is recomputed from its shards' tables, which carry no notes: the
    note was dropped (and would have counted one shard's texts)."""
    settings = {"batch_size": 1, "execution": {"shards": 2}}
    outcome = _run_reviews(hf_text_dir, tmp_path, {"accuracy": {}}, **settings)
    (job,) = outcome.outcomes
    record = json.loads((outcome.run_dir / "jobs" / str(job.path) / "job.json").read_text())
    assert record["shards"] == 2
    (note,) = [n for n in record["notes"] if "truncated" in n]
    assert note.startswith("2 of 4 texts (50%) are longer than the 32 tokens")
    assert note in job.message


def test_the_board_shows_the_note_once_per_model(hf_text_dir: Path, tmp_path: Path) -> None:
    """The note qualifies every number on the board: the leaderboard (and so the report)
    repeats it, once for the model, not once per suite."""
    _run_reviews(
        hf_text_dir, tmp_path, {"accuracy": {}, "shift": {"text": ["typo"], "ood_sets": []}}
    )
    board = harness.leaderboard(tmp_path / "results")
    notes = [n for n in board["notes"].iloc[0] if "truncated" in n]
    assert len(notes) == 1 and "2 of 4 texts (50%) are longer than the 32 tokens" in notes[0]


def test_a_tokenizer_that_cuts_on_the_left_is_said_to_keep_the_last_tokens(
    hf_text_dir: Path,
) -> None:
    """truncation_side='left' keeps a long text's end (the adapter reads it so, as the
    tokenizer's own call does): the note said 'their first 32 tokens'."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from harness.adapters.hf_text import HFTextAdapter

    model = AutoModelForSequenceClassification.from_pretrained(hf_text_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_text_dir)
    tokenizer.truncation_side = "left"
    texts, _ = _texts()
    note = HFTextAdapter.from_objects(model, tokenizer, name="bert").truncation(texts).note("bert")
    assert note is not None and note.endswith("those of their last 32 tokens (max_length)")


def test_counting_the_tokens_does_not_warn_of_indexing_errors(hf_text_dir: Path) -> None:
    """The count tokenises without truncation, which made transformers log 'Token indices
    sequence length is longer than the specified maximum ... will result in indexing errors'
    (from harness.evaluate, untrue: the model reads the cut texts) and mark the user's
    tokenizer as warned, silencing that warning on their own calls."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from harness.adapters.hf_text import HFTextAdapter

    model = AutoModelForSequenceClassification.from_pretrained(hf_text_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_text_dir)
    tokenizer.model_max_length = 8
    texts, _ = _texts()
    cut = HFTextAdapter.from_objects(model, tokenizer, name="bert").truncation(texts)
    assert cut.count == 2 and cut.limit == 8
    assert not tokenizer.deprecation_warnings.get(
        "sequence-length-is-longer-than-the-specified-maximum"
    )


def test_evaluate_takes_the_in_memory_models_max_length(hf_text_dir: Path) -> None:
    """A text model passed with its tokenizer was cut at 256 tokens (or its own limits) with no
    way to read less or more from `harness.evaluate`; `max_length=` sets it, as the spec key."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(hf_text_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_text_dir)
    texts, labels = _texts()
    options = {"data": (texts, labels), "class_names": ["neg", "pos"], "name": "r"}
    short = harness.evaluate(model, tokenizer=tokenizer, max_length=5, **options)
    (note,) = [n for n in short.results["accuracy"].notes if "truncated" in n]
    assert note.startswith("4 of 4 texts (100%) are longer than the 5 tokens")
    for bad in (0, 2.5, True, 1 << 17):
        with pytest.raises(harness.HarnessError, match="max_length: "):
            harness.evaluate(model, tokenizer=tokenizer, max_length=bad, **options)
    with pytest.raises(harness.HarnessError, match="max_length: goes with"):
        harness.evaluate(model, max_length=64, **options)
