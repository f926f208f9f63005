"""A text family that changes no text of a task (casing and word dropout on Chinese, which has
no letter case and no spaces between words) reported the clean accuracy under its name and
averaged it into `mean_text_shift_acc`: text_shift_acc 1.0 at every severity, the mean 0.998
where typos alone gave 0.994. It is not applicable, left out of the mean with a note, as a
tabular family that changes no input is."""

from __future__ import annotations

from pathlib import Path

from harness.core.suite import SuiteResult
from harness.run.api import evaluate
from tests.suites.shift.text_reviews import BOW, reviews_task


def _typo_and_casing(task: object, base_dir: Path) -> SuiteResult:
    """The shift suite's typo and casing families at severities 1 and 5 on `task`."""
    out = evaluate(
        BOW,
        task=task,
        suites={"shift": {"text": ["typo", "casing"], "severities": [1, 5]}},
        device="cpu",
        bootstrap_resamples=0,
        base_dir=base_dir,
    )
    return out.results["shift"]


def test_a_text_family_that_changes_no_text_is_not_applicable(tmp_path: Path) -> None:
    texts = ["这部电影很好看我很喜欢", "这部电影很无聊不推荐"] * 10
    labels = [1, 0] * 10
    task = reviews_task(tmp_path, "reviews-zh", texts, labels)
    res = _typo_and_casing(task, tmp_path)
    casing = next(r for r in res.metrics if r.condition == "text=casing")
    assert casing.value is None and "no text of task" in (casing.note or ""), casing.note
    assert not any(r.condition.startswith("text=casing/") for r in res.metrics)
    frame = res.table.frame
    assert not frame.condition.str.startswith("text=casing").any()
    mean = next(r for r in res.metrics if r.metric == "mean_text_shift_acc")
    typo = [r.value for r in res.metrics if r.condition.startswith("text=typo/")]
    assert mean.value == sum(typo) / len(typo)
    assert "casing" in (mean.note or "")


def test_a_text_family_that_changes_few_texts_says_so(tmp_path: Path) -> None:
    # 18 Chinese texts and 2 English ones: casing changes at most the 2 English texts, so its
    # cells were the clean accuracy of the other 18 under the family's name, averaged into
    # mean_text_shift_acc with no word (1.0 at every severity on a mostly Chinese task)
    texts = ["这部电影很好看我很喜欢", "这部电影很无聊不推荐"] * 9 + ["a good film", "a bad film"]
    labels = [1, 0] * 10
    task = reviews_task(tmp_path, "reviews-mixed", texts, labels)
    res = _typo_and_casing(task, tmp_path)
    cells = [r for r in res.metrics if r.condition.startswith("text=casing/")]
    assert cells and all("of 20 texts" in (r.note or "") for r in cells), [r.note for r in cells]
    mean = next(r for r in res.metrics if r.metric == "mean_text_shift_acc")
    assert "casing" in (mean.note or "") and "of 20 texts" in (mean.note or ""), mean.note
    assert res.artifacts["few_texts_changed"]["casing/severity=5"]["texts"] == 20
    typo = [r for r in res.metrics if r.condition.startswith("text=typo/severity=5")]
    assert typo and typo[0].note is None  # typos touch every script's letters
