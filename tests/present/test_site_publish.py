"""Publishing a staged report build (harness/present/site_publish.py): every destination is
checked before the first rename, so a build that cannot be published leaves the site whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.errors import ResultsError
from harness.present.site_publish import publish


def _stage(live: Path) -> Path:
    stage = live / ".report-build-1"
    (stage / "figures").mkdir(parents=True)
    (stage / "figures" / "a.png").write_text("new figure")
    (stage / "model-a.html").write_text("new page")
    (stage / "model-b.html").write_text("new page")
    (stage / "index.html").write_text("new index")
    return stage


@pytest.mark.parametrize("folder", ["model-b.html", "figures/a.png", "index.html"])
def test_a_folder_where_a_file_goes_is_refused_before_any_rename(
    tmp_path: Path, folder: str
) -> None:
    """A folder at a page's place: the rename onto it failed after the figures and the pages
    before it were renamed (a site mixing two builds, its old index.html linking old pages),
    and the error named the staged file, gone with its staging folder."""
    live = tmp_path / "site"
    (live / "figures").mkdir(parents=True)
    (live / "figures" / "a.png").write_text("old figure")
    (live / "model-a.html").write_text("old page")
    (live / "index.html").write_text("old index")
    (live / folder).unlink(missing_ok=True)
    (live / folder).mkdir()
    stage = _stage(live)
    with pytest.raises(ResultsError, match="is a folder where the report writes a file") as err:
        publish(stage, live, remove_stale=[])
    assert str(live / folder) in str(err.value) and ".report-build" not in str(err.value)
    assert (live / folder).is_dir()
    files = [p for p in ("figures/a.png", "model-a.html", "index.html") if p != folder]
    assert all((live / p).read_text().startswith("old") for p in files)
    assert not (live / "model-b.html").is_file()


def test_a_link_at_a_page_is_refused_in_words_that_fit_a_report_folder(tmp_path: Path) -> None:
    """The refusal said "a results folder holds plain files and folders only" of a report's
    site folder, which holds no results."""
    live = tmp_path / "site"
    (live / "figures").mkdir(parents=True)
    outside = tmp_path / "outside.html"
    outside.write_text("mine")
    (live / "model-a.html").symlink_to(outside)
    stage = _stage(live)
    with pytest.raises(ResultsError, match="symbolic link") as err:
        publish(stage, live, remove_stale=[])
    assert "a results or report folder holds plain files and folders only" in str(err.value)
    assert outside.read_text() == "mine"
