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


@pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py
def test_incomplete_results_from_python_name_allow_partial_as_python_spells_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """harness.report and harness.leaderboard refused incomplete results with 'pass
    --allow-partial', the command's flag, which a Python caller never typed (the near variant
    of compare and site_url, 8d0132bb); the command still says --allow-partial."""
    import harness
    from harness.cli.main import main

    write_synthetic_run(tmp_path / "res", models={"a": 0.9, "b": 0.6})
    (gone,) = (tmp_path / "res").glob("runs/*/jobs/b--digits--adversarial--*")
    shutil.rmtree(gone)
    for call in (
        lambda: harness.report(tmp_path / "res", tmp_path / "site"),
        lambda: harness.leaderboard(tmp_path / "res"),
        lambda: harness.variants(tmp_path / "res"),
        lambda: harness.groups(tmp_path / "res"),
        lambda: harness.export_model_index(tmp_path / "res", tmp_path / "cards"),
        lambda: harness.export_mlflow(tmp_path / "res", tracking_uri=f"file:{tmp_path / 'ml'}"),
    ):
        with pytest.raises(harness.HarnessError) as err:
            call()
        assert "pass allow_partial=True to publish" in str(err.value), str(err.value)
        assert "--allow-partial" not in str(err.value)
    capsys.readouterr()
    for command in (
        ["report", str(tmp_path / "res"), "--out", str(tmp_path / "cli-site")],
        ["variants", str(tmp_path / "res")],
        ["groups", str(tmp_path / "res")],
        ["export", str(tmp_path / "res"), "--to", "model-index", "--out", str(tmp_path / "c2")],
    ):
        assert main(command) != 0
        assert "pass --allow-partial to publish" in capsys.readouterr().err, command
