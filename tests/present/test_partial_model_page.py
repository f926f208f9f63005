"""A report published with --allow-partial says on a model's page which of its jobs are missing:
the index and the task page said PARTIAL, the model page only lacked the suite's section."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.present.api_report import report
from harness.run.suite_boards import installed_suite_boards
from tests.present.synthetic import write_synthetic_run


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_a_model_page_names_its_missing_jobs(tmp_path: Path) -> None:
    write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6})
    (gone,) = (tmp_path / "res").glob("runs/*/jobs/b--digits--adversarial--*")
    shutil.rmtree(gone)
    site = report(
        tmp_path / "res",
        tmp_path / "site",
        suite_boards=installed_suite_boards(),
        allow_partial=True,
    )
    pages = {p.name: p.read_text() for p in site.folder.glob("model-*.html")}
    (b_page,) = [text for name, text in pages.items() if name.startswith("model-b-")]
    (a_page,) = [text for name, text in pages.items() if name.startswith("model-a-")]
    assert "PARTIAL results</strong> (published with --allow-partial)" in b_page
    assert "b × digits × adversarial (its job folder" in b_page
    assert "PARTIAL results</strong>" not in a_page
