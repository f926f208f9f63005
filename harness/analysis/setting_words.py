"""How a message names a setting the user can change: as the CLI's flag (`--by label`) or as
the Python function's keyword argument (`by='label'`). The group breakdown's errors and notes
are the same for `harness groups` and `harness.groups`; each caller passes its words, so a
Python user is not told to pass a flag."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SettingWords:
    """`python`: name keyword arguments, else CLI flags; `names_shown`: how many left-out
    tables a note names (None: all)."""

    python: bool
    names_shown: int | None = None

    def __call__(self, key: str, value: object = None) -> str:
        """The setting `key` (a keyword argument's name), with `value` when one is meant."""
        if self.python:
            return f"{key}=" if value is None else f"{key}={value!r}"
        flag = "--" + key.replace("_", "-")
        return flag if value is None else f"{flag} {value}"


PYTHON_WORDS = SettingWords(python=True)
CLI_WORDS = SettingWords(python=False, names_shown=3)
