"""Inline task/model entries report only their own errors, with plain key paths."""

from __future__ import annotations

import pytest

from harness.config.spec import TaskSpec, parse_spec_text
from harness.core.errors import SpecError


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, source="s.yaml")
    return str(info.value)


def test_inline_task_typo_names_only_its_keys() -> None:
    msg = _error(
        "tasks: [{name: t, sorce: ./x.csv, modality: tabular}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg == (
        "s.yaml: tasks.0.source: required key is missing; tasks.0.sorce: unknown key (not allowed here)"
    )


def test_inline_task_validator_error_has_no_union_noise() -> None:
    msg = _error(
        "tasks: [{name: t, source: ./x.csv, modality: image, feature_columns: [a]}]\n"
        "models: [digits-mlp]\nsuites: {accuracy: {}}\n"
    )
    assert msg.startswith("s.yaml: tasks.0: feature_columns is only for tabular tasks")
    assert "valid string" not in msg and "function-after" not in msg and ";" not in msg


def test_inline_model_missing_name_and_bad_entry_kind() -> None:
    msg = _error("tasks: [3]\nmodels: [{adapter: torch}]\nsuites: {accuracy: {}}\n")
    assert "tasks.0: Input should be a valid dictionary" in msg
    assert "models.0.name: required key is missing" in msg
    assert "valid string" not in msg


def test_names_and_inline_entries_still_parse() -> None:
    spec = parse_spec_text(
        "tasks: [digits, {name: t, source: ./x.csv, modality: tabular, feature_columns: [a]}]\n"
        "models: [digits-mlp, {name: m, factory: 'a:b'}]\nsuites: {accuracy: {}}\n",
        source="s.yaml",
    )
    assert spec.tasks[0] == "digits" and isinstance(spec.tasks[1], TaskSpec)
    assert spec.models[0] == "digits-mlp" and spec.models[1].name == "m"
