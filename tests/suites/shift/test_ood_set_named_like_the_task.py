"""A task listed as its own OOD set is refused for what it is; an inline OOD set that only shares
the task's name is refused for the name (its rows are another file's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core.errors import ConfigError
from harness.suites.shift.suite import ShiftSuite


def test_the_task_as_its_own_ood_set_is_refused() -> None:
    suite = ShiftSuite({"corruptions": [], "ood_sets": [{"task": "digits", "tag": "near"}]})
    with pytest.raises(ConfigError, match="task 'digits' is its own OOD set"):
        suite.check_task_names(["digits"])


def test_an_inline_set_named_like_the_task_is_refused_for_its_name(tmp_path: Path) -> None:
    inline = {"name": "digits", "source": str(tmp_path / "other.csv"), "modality": "tabular"}
    suite = ShiftSuite({"corruptions": [], "ood_sets": {"digits": [inline]}})
    with pytest.raises(ConfigError) as raised:
        suite.check_task_names(["digits"])
    message = str(raised.value)
    assert "its own OOD set" not in message  # its rows are not the task's
    assert "'digits'" in message and "name" in message and "another name" in message
