"""Generated noise in an `ood_sets` list on a text task: the list applies to every task, so on a
text task (where noise has no meaning) the entry is left out with a note, as an OOD set of
another modality is, instead of failing the whole shift job (its text shifts lost with it)."""

from __future__ import annotations

from pathlib import Path

from harness.run.api import evaluate
from tests.suites.shift.text_reviews import BOW, reviews_task


def test_generated_noise_in_a_list_is_a_note_on_a_text_task(tmp_path: Path) -> None:
    texts = ["a good film", "great", "a bad film", "awful and boring"] * 5
    labels = [1, 1, 0, 0] * 5
    task = reviews_task(tmp_path, "reviews", texts, labels)
    out = evaluate(
        BOW,
        task=task,
        suites={
            "shift": {
                "text": ["typo"],
                "severities": [1],
                "ood_sets": [{"generated": "uniform_noise", "n": 10}],
            }
        },
        device="cpu",
        bootstrap_resamples=0,
        base_dir=tmp_path,
    )
    res = out.results["shift"]
    assert any(r.metric == "text_shift_acc" for r in res.metrics)
    assert not any(r.metric.startswith("ood_") for r in res.metrics)
    assert any(
        n.startswith("OOD set 'uniform_noise' (generated noise) does not apply to text task")
        for n in res.notes
    ), res.notes
