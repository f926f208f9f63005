"""The code digest covers every source the harness runs, the suites, adapters and zoo included
(in a checkout `harness/suites` etc. are links to the top-level folders, which are followed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run import code_identity


def test_every_package_folder_is_in_the_digest() -> None:
    files = dict(code_identity.source_files())
    for relative in ("core/suite.py", "suites/accuracy.py", "adapters/base.py", "zoo/catalogue.py"):
        assert relative in files, relative
    assert "suites/shift/ood/detectors.py" in files  # nested folders under a link
    assert not [r for r in files if "__pycache__" in r]


def test_an_edited_suite_changes_the_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    before = code_identity.code_digest()
    real = code_identity.file_sha256

    def edited(path: Path) -> str:
        return (
            "edited" if path.name == "accuracy.py" and path.parent.name == "suites" else real(path)
        )

    monkeypatch.setattr(code_identity, "file_sha256", edited)
    assert code_identity.code_digest() != before
