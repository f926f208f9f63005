"""A gallery's caption counts what its figure draws: a gallery draws at most a few of the
examples a suite stored, and a caption counting the stored ones ('found by APGD-CE (8)' under a
figure of six rows titled 'APGD-CE (6)') contradicts the picture above it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.suite_board import figure_kinds
from harness.present import galleries
from harness.present.report_figures import FigureFolder, gallery_figures, job_tag
from harness.run.suite_boards import installed_suite_boards
from harness.store.run_store import load_jobs
from tests.present.synthetic import write_synthetic_run


def _captions(root: Path, out: Path, suite: str) -> list[str]:
    (man, job), *_ = [
        (m, j) for m, j in load_jobs(root) if j.record.suite == suite and j.record.model == "a"
    ]
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    folder = FigureFolder(out, figdir)
    kinds = figure_kinds(installed_suite_boards())
    return [f.caption for f in gallery_figures("a", job, job_tag("a", job), folder, kinds)]


def test_captions_count_the_examples_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9, "b": 0.6}, extras=True)  # 4 adversarial, 3 seeded
    monkeypatch.setattr(galleries, "ADVERSARIAL_ROWS", 2)
    monkeypatch.setattr(galleries, "MAX_SAMPLES", 2)
    (adv,) = _captions(root, tmp_path / "site", "adversarial")
    assert adv.startswith("a: 2 of the 4 stored adversarial examples at ")
    assert "found by PGD (2)" in adv  # the two rows drawn, not the four stored
    corruption = _captions(root, tmp_path / "site", "shift")
    assert corruption and all(c.startswith("a: 2 of the 3 stored seeded") for c in corruption)


def test_captions_of_galleries_drawn_whole(tmp_path: Path) -> None:
    root = tmp_path / "res"
    write_synthetic_run(root, models={"a": 0.9, "b": 0.6}, extras=True)
    (adv,) = _captions(root, tmp_path / "site", "adversarial")
    assert adv.startswith("a: 4 stored adversarial examples at ") and "PGD (4)" in adv
