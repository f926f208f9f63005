"""`harness report --out DIR` never replaces files that no report wrote: a folder holding a
user's files (or the results themselves) is refused before anything is read or written; a new,
empty or hidden-only folder, one a report wrote (also one cut short) and a symbolic link to a
folder (the user's own choice) are written."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.present.page_cache import INDEX
from tests.present.synthetic import write_synthetic_run
from tests.reliability.hostile.corpus import cli, one_error_line

pytestmark = pytest.mark.usefixtures("report_parts_here")  # tests/conftest.py


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site-folder") / "results"
    write_synthetic_run(root, models={"m1": 0.9})
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", ["user-files", "results-folder"])
def test_a_folder_of_other_files_is_refused_and_left_as_it_is(
    kind: str, results: Path, tmp_path: Path
) -> None:
    if kind == "user-files":
        out = tmp_path / "docs"
        out.mkdir()
        (out / "index.html").write_text("<p>my own page</p>")
        (out / "notes.txt").write_text("mine")
        named = "index.html, notes.txt"
    else:
        out = results
        named = "runs"
    before = _files(out)
    code, out_text, err = cli("report", results, "--out", out)
    line = one_error_line(err)
    assert code == 2 and out_text == ""
    assert line == (
        f"error: report folder {out} holds files that no report wrote ({named}); a report "
        "replaces index.html, summary.md and its other pages, so it is written only into a new "
        f"or empty folder or one a report wrote before (it holds {INDEX}): choose another --out"
    )
    assert _files(out) == before


def test_a_site_of_an_older_harness_is_refused_as_such(results: Path, tmp_path: Path) -> None:
    """The 0.1.0 release wrote no page index: after upgrading, `harness report R --out site`
    into the site it published said the folder "holds files that no report wrote" (a report
    did) and "choose another --out" (the published folder is the one to update). The refusal
    now says whose files they are and what to do; nothing in the folder changes."""
    out = tmp_path / "site"
    code, _out, err = cli("report", results, "--out", out)
    assert code == 0, err
    (out / INDEX).unlink()  # what the 0.1.0 release left: pages and figures, no index
    (out / "figures" / "figure-index.json").unlink(missing_ok=True)
    before = _files(out)
    code, out_text, err = cli("report", results, "--out", out)
    line = one_error_line(err)
    assert code == 2 and out_text == ""
    assert line.startswith(f"error: report folder {out} holds the pages of a report by an older ")
    assert (
        f"harness (index.html, provenance.html, summary.md, no {INDEX}): this version replaces "
        "only the files its own page index lists, so delete the folder's files (hidden entries "
        "such as .git may stay) and report again, or choose another --out"
    ) in line, line
    assert _files(out) == before


def test_new_empty_hidden_only_and_earlier_report_folders_are_written(
    results: Path, tmp_path: Path
) -> None:
    hidden = tmp_path / "pages"
    (hidden / ".git").mkdir(parents=True)
    (hidden / ".nojekyll").write_text("")
    cut_short = tmp_path / "cut-short"  # a first build stopped after its page index
    cut_short.mkdir()
    (cut_short / INDEX).write_text('{"format": 1, "identity": "", "pages": {}}')
    (cut_short / "provenance.html").write_text("half a build")
    for out in (tmp_path / "new", hidden, cut_short):
        code, _out, err = cli("report", results, "--out", out)
        assert code == 0, err
        assert (out / "index.html").is_file() and (out / INDEX).is_file()
    assert (hidden / ".nojekyll").is_file() and (hidden / ".git").is_dir()
    code, _out, err = cli("report", results, "--out", hidden)  # again: a report's folder now
    assert code == 0, err


def test_an_out_folder_that_is_a_link_is_written_where_it_points(
    results: Path, tmp_path: Path
) -> None:
    target = tmp_path / "published"
    target.mkdir()
    link = tmp_path / "site"
    link.symlink_to(target, target_is_directory=True)
    code, _out, err = cli("report", results, "--out", link, "--width", "0")
    assert code == 0, err
    assert f"report: {link / 'index.html'}" in err
    assert link.is_symlink() and (target / "index.html").is_file()
    assert (target / "figures").is_dir() and not (target / "figures").is_symlink()
