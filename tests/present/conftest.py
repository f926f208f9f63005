"""One synthetic report site per test session, shared by the site and browser tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.present.test_site import build


@pytest.fixture(scope="session")
def synthetic_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("site"))
